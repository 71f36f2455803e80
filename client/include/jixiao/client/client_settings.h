// The installation's settings and credentials: client.json in the data
// directory (server URL, CA file, login, device id, session token, the
// offline-unlock verifier, the user as the server last described them).
//
// client.json, not a table in replica.db: the settings must be readable
// before the replica can be opened (the replica needs the user's unit and
// roles, which only a login tells), and people and support staff can read
// it. It holds a token and a password verifier, so it is mode 0600 and is
// replaced atomically (temp file, then rename).
//
// Not thread-safe: its owner serializes calls (ClientService does).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "jixiao/common/org.h"
#include "jixiao/common/status.h"
#include "jixiao/sync/model.h"

namespace jixiao::client {

// Argon2id cost of the offline-unlock verifier. libsodium's INTERACTIVE
// limits by default; tests use crypto_pwhash_OPSLIMIT_MIN / MEMLIMIT_MIN.
struct UnlockHashing {
  unsigned long long ops_limit = 2;
  std::size_t mem_limit = 64u * 1024u * 1024u;
};

// What client.json holds.
struct ClientMeta {
  static constexpr int kFormatVersion = 1;
  std::string server_url;
  std::string ca_file;
  UserId login;          // the login name given at register
  sync::DeviceId device_id;
  std::string token;     // empty: no session
  std::string unlock_verifier;  // crypto_pwhash_str output; empty until a login
  std::optional<User> user;     // as the server last described it
  std::string unit_name;
  std::int64_t last_login_ms = 0;
  std::int64_t last_sync_ms = 0;
};

class ClientSettings {
 public:
  // Reads <data_dir>/client.json (a missing file: empty settings).
  static Result<ClientSettings> load(const std::filesystem::path& data_dir, UnlockHashing hashing);

  const ClientMeta& meta() const { return meta_; }
  ClientMeta& meta() { return meta_; }
  // Writes client.json atomically, mode 0600.
  Status save() const;

  // A new verifier of `password` (Argon2id); saved by the next save().
  Status remember_password(const std::string& password);
  // Checks `password` against the verifier, offline. kFailedPrecondition
  // (detail "no verifier") before any online login; kPermissionDenied when
  // it does not match.
  Status verify_password(const std::string& password) const;

  // kFailedPrecondition (detail "no user in client.json") until a login
  // told who works here.
  Status require_user() const;

 private:
  std::filesystem::path file_;
  UnlockHashing hashing_;
  ClientMeta meta_;
};

// libsodium, initialized once.
Status init_sodium();

}  // namespace jixiao::client
