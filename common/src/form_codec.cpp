#include "jixiao/common/form_codec.h"

#include "jixiao/common/bounded_archive.h"
#include "jixiao/common/digest.h"
#include "jixiao/common/form_cereal.h"

namespace jixiao {

std::string encode_form(const Form& form) { return archive::to_tagged_blob("JXF", kFormBlobVersion, form); }

Result<Form> decode_form(std::string_view bytes) {
  return archive::from_tagged_blob<Form>(bytes, "JXF", kFormBlobVersion, "表单");
}

std::string form_content_hash(const Form& form) { return sha256_hex(encode_form(form)); }

}  // namespace jixiao
