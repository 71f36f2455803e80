// The binary form of a Form, used on disk and (inside the sync envelope) on
// the wire: cereal's portable binary archive with class versions on every
// type, behind a small header:
//
//   form_blob   := magic "JXF" , format_version:u8 , cereal_payload
//   format_version = 1
//
// Decoding catches everything cereal throws and reports kCorruption; it is
// meant for bytes this program wrote (its own disk). Bytes from the network
// go through the sync envelope's bounds checks first (issue 4).
#pragma once

#include <string>
#include <string_view>

#include "jixiao/common/form.h"
#include "jixiao/common/status.h"

namespace jixiao {

inline constexpr unsigned char kFormBlobVersion = 1;

std::string encode_form(const Form& form);
Result<Form> decode_form(std::string_view bytes);

// SHA-256 of encode_form(), lower-case hex: the content hash a reviewer's
// approval is bound to. Same form, same hash, on every machine.
std::string form_content_hash(const Form& form);


}  // namespace jixiao
