// The one translation unit that compiles Boost.Asio for jixiao-fault-proxy
// (STYLE.md item 12: compile Asio once). Every TU of the target is built with
// BOOST_ASIO_SEPARATE_COMPILATION (a compile definition of the target, see
// CMakeLists.txt), so the others only declare what this one defines.
#if !defined(BOOST_ASIO_SEPARATE_COMPILATION)
#error "BOOST_ASIO_SEPARATE_COMPILATION must be defined for the whole target, not per file"
#endif

// GCC 12 reports -Wnull-dereference inside inlined Asio internals despite
// their being system headers; the code is Boost's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/impl/src.hpp>
