// Test support shared by the server and end-to-end suites.
#pragma once

#include <filesystem>

namespace jixiao::testing {

// A self-signed EC P-256 certificate for 127.0.0.1 and localhost (with the
// CA flag, so a client can trust it as its CA file), written with the OpenSSL
// C API as PEM to `cert_file` and `key_file` (0600), creating their folders.
// False on any failure.
bool write_self_signed_certificate(const std::filesystem::path& cert_file, const std::filesystem::path& key_file);

}  // namespace jixiao::testing
