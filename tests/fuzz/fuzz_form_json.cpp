// The JSON form file (form_json.h) with the shipped templates: any text is
// read strictly or refused with a Status. A form that is read can be written
// back (form_to_json) and that file reads again to the same form: what the
// program exports, it imports.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_support.h"
#include "jixiao/common/form_json.h"
#include "jixiao/common/form_template.h"

namespace {

const jixiao::TemplateRegistry& shipped_templates() {
  static const jixiao::TemplateRegistry registry = [] {
    jixiao::TemplateRegistry r;
    if (const jixiao::Status s = r.load_directory(JIXIAO_TEMPLATE_DIR); !s) {
      std::fprintf(stderr, "cannot load templates from %s: %s\n", JIXIAO_TEMPLATE_DIR, s.to_string().c_str());
      std::abort();
    }
    return r;
  }();
  return registry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const jixiao::TemplateRegistry& templates = shipped_templates();
  const auto form = jixiao::form_from_json(jixiao::fuzz::as_text(data, size), templates, "fuzz.json");
  if (!form) return 0;
  const auto tmpl = templates.find(form->template_ref.id, form->template_ref.version);
  JIXIAO_FUZZ_REQUIRE(tmpl.is_ok());
  const std::string written = jixiao::form_to_json(*form, **tmpl);
  const auto again = jixiao::form_from_json(written, templates, "fuzz.json");
  JIXIAO_FUZZ_REQUIRE(again.is_ok());
  JIXIAO_FUZZ_REQUIRE(*again == *form);
  return 0;
}
