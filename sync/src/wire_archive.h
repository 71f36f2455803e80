// Internal: the cereal archives of the wire format.
//
// The format is cereal's binary layout (little-endian scalars, u64 container
// sizes, u32 class versions), written by WireOutputArchive into a string and
// read by WireInputArchive from a bounded span. The input archive is what
// makes network bytes safe to decode:
// - every read checks the bytes that remain (no read past the end);
// - every container size is checked against the bytes that remain before
//   anything is allocated for it;
// - vectors of structured elements grow one decoded element at a time, so
//   memory follows the bytes actually read, never a size the bytes claim.
// It throws cereal::Exception on violation; protocol.cpp turns that into a
// Status. cereal's stock archives never see network input.
#pragma once

#include <bit>
#include <cereal/cereal.hpp>
#include <cereal/types/vector.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace jixiao::sync::wire {

static_assert(std::endian::native == std::endian::little,
              "the wire format is little-endian; a big-endian port must byte-swap");

class WireOutputArchive : public cereal::OutputArchive<WireOutputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit WireOutputArchive(std::string& out) : OutputArchive(this), out_(out) {}
  void saveBinary(const void* data, std::size_t size) { out_.append(static_cast<const char*>(data), size); }

 private:
  std::string& out_;
};

class WireInputArchive : public cereal::InputArchive<WireInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit WireInputArchive(std::string_view in) : InputArchive(this), in_(in) {}
  void loadBinary(void* data, std::size_t size) {
    if (size > remaining()) throw cereal::Exception("message truncated");
    std::memcpy(data, in_.data() + pos_, size);
    pos_ += size;
  }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(WireOutputArchive& ar, const T& t) {
  ar.saveBinary(std::addressof(t), sizeof(t));
}
template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& ar, T& t) {
  ar.loadBinary(std::addressof(t), sizeof(t));
}

// A bool is one byte, 0 or 1: anything else from the wire is refused rather
// than becoming an invalid bool (undefined behaviour).
inline void CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& ar, bool& b) {
  unsigned char byte = 0;
  ar.loadBinary(&byte, 1);
  if (byte > 1) throw cereal::Exception("invalid bool");
  b = byte == 1;
}

template <class Archive, class T>
CEREAL_ARCHIVE_RESTRICT(WireInputArchive, WireOutputArchive)
CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(WireOutputArchive& ar, const cereal::SizeTag<T>& t) {
  const auto size = static_cast<std::uint64_t>(t.size);
  ar.saveBinary(&size, sizeof(size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& ar, cereal::SizeTag<T>& t) {
  std::uint64_t size = 0;
  ar.loadBinary(&size, sizeof(size));
  // Every element takes at least one byte, so a size above the bytes that
  // remain is a lie; refuse it before anything is allocated.
  if (size > ar.remaining()) throw cereal::Exception("container size larger than the bytes that remain");
  t.size = static_cast<std::remove_reference_t<T>>(size);
}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(WireOutputArchive& ar, const cereal::BinaryData<T>& t) {
  ar.saveBinary(t.data, static_cast<std::size_t>(t.size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& ar, cereal::BinaryData<T>& t) {
  ar.loadBinary(t.data, static_cast<std::size_t>(t.size));
}

// Vectors of structured elements: no resize(size) ahead of the data.
template <class T, class A>
std::enable_if_t<!std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(WireInputArchive& ar, std::vector<T, A>& v) {
  cereal::size_type size = 0;
  ar(cereal::make_size_tag(size));
  v.clear();
  for (cereal::size_type i = 0; i < size; ++i) {
    T element{};
    ar(element);
    v.push_back(std::move(element));
  }
}

}  // namespace jixiao::sync::wire

CEREAL_SETUP_ARCHIVE_TRAITS(jixiao::sync::wire::WireInputArchive, jixiao::sync::wire::WireOutputArchive)
