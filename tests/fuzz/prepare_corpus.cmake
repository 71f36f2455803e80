# Run by tests/fuzz/CMakeLists.txt at build time (cmake -P): rewrites
# SEED_DIR/<target>/ from make_corpus, the JSON fixtures (fuzz_form_json) and
# REGRESSION_DIR/<target>/, and makes sure the working corpus and artifact
# directories exist (libFuzzer refuses a corpus directory that does not).
file(REMOVE_RECURSE ${SEED_DIR})
execute_process(COMMAND ${MAKE_CORPUS} ${SEED_DIR} RESULT_VARIABLE made)
if(NOT made EQUAL 0)
  message(FATAL_ERROR "make_corpus failed (${made})")
endif()
file(GLOB fixtures ${FIXTURE_DIR}/*.json)
file(COPY ${fixtures} DESTINATION ${SEED_DIR}/fuzz_form_json)
foreach(target IN LISTS TARGETS)
  file(MAKE_DIRECTORY ${SEED_DIR}/${target} ${CORPUS_DIR}/${target} ${ARTIFACT_DIR}/${target})
  file(GLOB reproducers ${REGRESSION_DIR}/${target}/*)
  if(reproducers)
    file(COPY ${reproducers} DESTINATION ${SEED_DIR}/${target})
  endif()
endforeach()
file(TOUCH ${SEED_DIR}/.stamp)
