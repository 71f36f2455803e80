# Fails when <sqlite3.h> is included under common/ workflow/ sync/ server/
# client/ anywhere but the SQLite store: every other module reaches SQLite
# through jixiao::sqlite (sqlite/), whose header hides it.
#   cmake -DROOT=<source dir> -P check_sqlite_include.cmake
set(offenders "")
foreach(dir common workflow sync server client)
  file(GLOB_RECURSE files "${ROOT}/${dir}/*.h" "${ROOT}/${dir}/*.hpp" "${ROOT}/${dir}/*.cpp")
  foreach(f IN LISTS files)
    if(f MATCHES "/server/store/src/sqlite_store\\.cpp$")
      continue()
    endif()
    file(STRINGS "${f}" hits REGEX "#[ \t]*include[ \t]*[<\"]sqlite3\\.h[>\"]")
    if(hits)
      list(APPEND offenders "${f}")
    endif()
  endforeach()
endforeach()
if(offenders)
  list(JOIN offenders "\n  " text)
  message(FATAL_ERROR "<sqlite3.h> included outside the SQLite wrapper and store:\n  ${text}")
endif()
message(STATUS "<sqlite3.h>: only in sqlite/ (and the SQLite store)")
