#include "test_certificate.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <system_error>
#include <utility>

namespace jixiao::testing {

namespace fs = std::filesystem;

bool write_self_signed_certificate(const fs::path& cert_file, const fs::path& key_file) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* cert = X509_new();
  bool ok = key != nullptr && cert != nullptr;
  ok = ok && X509_set_version(cert, 2) == 1;
  ok = ok && ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1;
  ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != nullptr;
  ok = ok && X509_gmtime_adj(X509_getm_notAfter(cert), 2L * 24L * 3600L) != nullptr;
  ok = ok && X509_set_pubkey(cert, key) == 1;
  X509_NAME* subject = ok ? X509_get_subject_name(cert) : nullptr;
  const auto* cn = reinterpret_cast<const unsigned char*>("127.0.0.1");
  ok = ok && X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, cn, -1, -1, 0) == 1;
  ok = ok && X509_set_issuer_name(cert, subject) == 1;
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = ok ? X509V3_EXT_conf_nid(nullptr, &ctx, nid, value) : nullptr;
    ok = ext != nullptr && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
  }
  ok = ok && X509_sign(cert, key, EVP_sha256()) > 0;
  if (ok) {
    std::error_code ec;
    fs::create_directories(cert_file.parent_path(), ec);
    fs::create_directories(key_file.parent_path(), ec);
    const int cfd = ::open(cert_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int kfd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE* crt = cfd >= 0 ? ::fdopen(cfd, "wb") : nullptr;
    FILE* pem = kfd >= 0 ? ::fdopen(kfd, "wb") : nullptr;
    ok = crt != nullptr && pem != nullptr && PEM_write_X509(crt, cert) == 1 &&
         PEM_write_PrivateKey(pem, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    if (crt != nullptr) {
      std::fclose(crt);
    } else if (cfd >= 0) {
      ::close(cfd);
    }
    if (pem != nullptr) {
      std::fclose(pem);
    } else if (kfd >= 0) {
      ::close(kfd);
    }
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace jixiao::testing
