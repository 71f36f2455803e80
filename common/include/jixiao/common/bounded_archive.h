// A cereal archive pair for every byte string jixiao writes or reads —
// wire messages, local blobs on disk — with one property cereal's stock
// archives lack: reading is safe on hostile or damaged bytes.
//
// The format is cereal's binary layout (little-endian scalars, u64 container
// sizes, u32 class versions on a type's first use). BoundedInputArchive:
// - checks every read against the bytes that remain (no read past the end);
// - checks every container size against the bytes that remain before
//   anything is allocated for it;
// - grows vectors of structured elements one decoded element at a time, so
//   memory follows the bytes actually read, never a size the bytes claim;
// - refuses a bool that is not 0 or 1 (an invalid bool is undefined
//   behaviour).
// It throws cereal::Exception on violation; from_bytes() turns that into a
// Status.
//
// Both archives carry the WireOptions of whoever reads the bytes (the
// peer's protocol version and negotiated capabilities; wire_options.h), so
// a serialize function writes and reads a field added under a capability
// only for a peer that has it: archive::has_capability(ar, c),
// archive::wire_version(ar). Without options: this build's own (local
// blobs).
#pragma once

#include <bit>
#include <cereal/cereal.hpp>
#include <cereal/types/vector.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "jixiao/common/status.h"
#include "jixiao/common/wire_options.h"

namespace jixiao::archive {

static_assert(std::endian::native == std::endian::little,
              "the archive format is little-endian; a big-endian port must byte-swap");

class BoundedOutputArchive : public cereal::OutputArchive<BoundedOutputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit BoundedOutputArchive(std::string& out, const WireOptions& peer = {})
      : OutputArchive(this), out_(out), peer_(peer) {}
  void saveBinary(const void* data, std::size_t size) {
    if (size != 0) out_.append(static_cast<const char*>(data), size);
  }
  const WireOptions& peer() const { return peer_; }

 private:
  std::string& out_;
  WireOptions peer_;
};

class BoundedInputArchive : public cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit BoundedInputArchive(std::string_view in, const WireOptions& peer = {})
      : InputArchive(this), in_(in), peer_(peer) {}
  void loadBinary(void* data, std::size_t size) {
    if (size == 0) return;  // an empty vector's data() may be null: no memcpy
    if (size > remaining()) throw cereal::Exception("message truncated");
    std::memcpy(data, in_.data() + pos_, size);
    pos_ += size;
  }
  std::size_t remaining() const { return in_.size() - pos_; }
  const WireOptions& peer() const { return peer_; }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  WireOptions peer_;
};

// Whether the bytes' reader has negotiated `c`: a field added under `c` is
// written and read only then.
inline bool has_capability(const BoundedOutputArchive& ar, Capability c) { return ar.peer().caps.has(c); }
inline bool has_capability(const BoundedInputArchive& ar, Capability c) { return ar.peer().caps.has(c); }
// The protocol version of the envelope the bytes travel in.
inline std::uint8_t wire_version(const BoundedOutputArchive& ar) { return ar.peer().version; }
inline std::uint8_t wire_version(const BoundedInputArchive& ar) { return ar.peer().version; }

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(BoundedOutputArchive& ar, const T& t) {
  ar.saveBinary(std::addressof(t), sizeof(t));
}
template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, T& t) {
  ar.loadBinary(std::addressof(t), sizeof(t));
}

// A bool is one byte, 0 or 1: anything else from the wire is refused rather
// than becoming an invalid bool (undefined behaviour).
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, bool& b) {
  unsigned char byte = 0;
  ar.loadBinary(&byte, 1);
  if (byte > 1) throw cereal::Exception("invalid bool");
  b = byte == 1;
}

template <class Archive, class T>
CEREAL_ARCHIVE_RESTRICT(BoundedInputArchive, BoundedOutputArchive)
CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(BoundedOutputArchive& ar, const cereal::SizeTag<T>& t) {
  const auto size = static_cast<std::uint64_t>(t.size);
  ar.saveBinary(&size, sizeof(size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::SizeTag<T>& t) {
  std::uint64_t size = 0;
  ar.loadBinary(&size, sizeof(size));
  // Every element takes at least one byte, so a size above the bytes that
  // remain is a lie; refuse it before anything is allocated.
  if (size > ar.remaining()) throw cereal::Exception("container size larger than the bytes that remain");
  t.size = static_cast<std::remove_reference_t<T>>(size);
}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(BoundedOutputArchive& ar, const cereal::BinaryData<T>& t) {
  ar.saveBinary(t.data, static_cast<std::size_t>(t.size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::BinaryData<T>& t) {
  ar.loadBinary(t.data, static_cast<std::size_t>(t.size));
}

// Vectors of structured elements: no resize(size) ahead of the data.
template <class T, class A>
std::enable_if_t<!std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, std::vector<T, A>& v) {
  cereal::size_type size = 0;
  ar(cereal::make_size_tag(size));
  v.clear();
  for (cereal::size_type i = 0; i < size; ++i) {
    T element{};
    ar(element);
    v.push_back(std::move(element));
  }
}

}  // namespace jixiao::archive

CEREAL_SETUP_ARCHIVE_TRAITS(jixiao::archive::BoundedInputArchive, jixiao::archive::BoundedOutputArchive)

namespace jixiao::archive {

// Encodes `value` (cereal functions required) into bytes, for a reader with
// `options` (default: this build).
template <class T>
std::string to_bytes(const T& value, const WireOptions& options = {}) {
  std::string out;
  BoundedOutputArchive ar(out, options);
  ar(value);
  return out;
}

// Decodes exactly `bytes`, written for `options`, into a T. Malformed,
// truncated or trailing bytes are kCorruption, naming `what` (Chinese) —
// never a crash, an invalid bool or an allocation the bytes do not pay for.
template <class T>
Result<T> from_bytes(std::string_view bytes, std::string_view what, const WireOptions& options = {}) {
  T value{};
  try {
    BoundedInputArchive ar(bytes, options);
    ar(value);
    if (ar.remaining() != 0) {
      return Status::corruption(std::string(what) + "数据已损坏（末尾有多余字节）", "trailing bytes");
    }
  } catch (const std::exception& e) {
    return Status::corruption(std::string(what) + "数据已损坏，无法读取", e.what());
  }
  return value;
}

}  // namespace jixiao::archive

namespace jixiao::archive {

// A stored blob: a 3-byte magic naming its type ("JXF" a form, "JXR" a
// replica …), one format version byte, then the bounded archive.
template <class T>
std::string to_tagged_blob(std::string_view magic, unsigned char version, const T& value) {
  std::string out(magic.substr(0, 3));
  out += static_cast<char>(version);
  out += to_bytes(value);
  return out;
}

// kCorruption for a wrong magic or damaged bytes, kUnsupportedVersion for
// another version; `what` names the data for people.
template <class T>
Result<T> from_tagged_blob(std::string_view bytes, std::string_view magic, unsigned char version,
                           std::string_view what) {
  if (bytes.size() < 4 || bytes.substr(0, 3) != magic.substr(0, 3)) {
    return Status::corruption(std::string(what) + "数据已损坏（文件头不正确）", "bad magic");
  }
  const auto found = static_cast<unsigned char>(bytes[3]);
  if (found != version) {
    return Status::unsupported_version(
        std::string(what) + "数据的格式版本为 " + std::to_string(found) + "，本程序不支持",
        "blob version " + std::to_string(found));
  }
  return from_bytes<T>(bytes.substr(4), what);
}

}  // namespace jixiao::archive
