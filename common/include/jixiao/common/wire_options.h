// What a peer's decoder understands: the protocol version of its envelope
// and the capabilities negotiated at login (docs/protocol.md, "Evolving the
// protocol"). Every encoder and decoder of the wire takes these as context;
// the bounded archive (bounded_archive.h) carries them, so a serialize
// function writes and reads a field added under a capability only when the
// peer has it:
//
//   ar(p.overdue);
//   if (archive::has_capability(ar, Capability::kUnassignedHolder)) ar(p.unassigned);
//
// Here in common, beside the archive, rather than in sync: the archive is
// the one thing every encoder shares. jixiao::sync re-exports the names.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jixiao {

// The envelope's protocol version this build writes, and the oldest it
// still reads and answers (an office client of the previous release).
inline constexpr std::uint8_t kProtocolVersion = 3;
inline constexpr std::uint8_t kMinProtocolVersion = 2;
// The first version whose LoginRequest and LoginResponse carry capabilities.
inline constexpr std::uint8_t kFirstCapabilityVersion = 3;

// A wire change a peer may or may not understand. The number is the
// capability's bit and, with its name, never changes or is reused; the name
// is what travels at login. A capability is never removed from this list
// while a peer that lacks it is still served.
enum class Capability : std::uint8_t {
  // "unassigned-holder" (protocol 3): workflow::FormProgress::unassigned,
  // the stage holding the form has no enabled user of its role (待重新指派).
  kUnassignedHolder = 0,
};

// Every capability this build knows, in bit order.
inline constexpr Capability kKnownCapabilities[] = {Capability::kUnassignedHolder};

// The stable wire name ("unassigned-holder"); empty for a value this build
// does not know.
constexpr std::string_view capability_name(Capability c) {
  switch (c) {
    case Capability::kUnassignedHolder: return "unassigned-holder";
  }
  return {};
}

// The capability a wire name stands for; nullopt for a name this build does
// not know (a newer peer's), which callers ignore.
constexpr std::optional<Capability> capability_from_name(std::string_view name) {
  for (Capability c : kKnownCapabilities) {
    if (capability_name(c) == name) return c;
  }
  return std::nullopt;
}

// A set of capabilities (at most 64: a bit each).
class Capabilities {
 public:
  constexpr Capabilities() = default;
  constexpr Capabilities(std::initializer_list<Capability> list) {
    for (Capability c : list) bits_ |= bit(c);
  }
  // Every capability this build knows.
  static constexpr Capabilities all() {
    Capabilities out;
    for (Capability c : kKnownCapabilities) out.bits_ |= bit(c);
    return out;
  }
  // From wire names; names this build does not know are ignored.
  static Capabilities from_names(const std::vector<std::string>& names) {
    Capabilities out;
    for (const std::string& n : names) {
      if (auto c = capability_from_name(n)) out.bits_ |= bit(*c);
    }
    return out;
  }

  constexpr bool has(Capability c) const { return (bits_ & bit(c)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr std::uint64_t bits() const { return bits_; }
  // What both sides understand.
  constexpr Capabilities operator&(const Capabilities& other) const {
    Capabilities out;
    out.bits_ = bits_ & other.bits_;
    return out;
  }
  // The wire names, in bit order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (Capability c : kKnownCapabilities) {
      if (has(c)) out.emplace_back(capability_name(c));
    }
    return out;
  }
  friend constexpr bool operator==(const Capabilities&, const Capabilities&) = default;

 private:
  static constexpr std::uint64_t bit(Capability c) { return std::uint64_t{1} << static_cast<unsigned>(c); }
  std::uint64_t bits_ = 0;
};

// The peer's wire options: what to encode for it and how to read it. The
// default is this build's own: the current version with every capability
// (local blobs, and tests).
struct WireOptions {
  std::uint8_t version = kProtocolVersion;
  Capabilities caps = Capabilities::all();

  static constexpr WireOptions current() { return WireOptions{}; }
  // The oldest peer this build serves (an office client of release 2):
  // kMinProtocolVersion, no capabilities.
  static constexpr WireOptions oldest() { return WireOptions{kMinProtocolVersion, Capabilities{}}; }
  friend constexpr bool operator==(const WireOptions&, const WireOptions&) = default;
};

}  // namespace jixiao
