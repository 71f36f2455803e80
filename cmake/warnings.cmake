# One warning set for every target of the project (see STYLE.md: abseil).
add_library(jixiao_warnings INTERFACE)
target_compile_options(jixiao_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)

if(JIXIAO_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# libFuzzer (tests/fuzz): every object carries coverage instrumentation and
# ASan+UBSan, any UB report aborts (a finding, not a log line); only the fuzz
# executables link the libFuzzer runtime (-fsanitize=fuzzer).
if(JIXIAO_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
