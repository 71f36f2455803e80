// Boost.Asio, its SSL support and Boost.Beast, compiled once for the whole
// project (separate compilation): every other file that includes them is
// compiled with BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION and only sees declarations.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
