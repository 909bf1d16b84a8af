// The coroutine type of all chain and node I/O (STYLE.md, Concurrency).
#pragma once

#include <boost/asio/awaitable.hpp>

namespace ferry::chains {

/// A coroutine on the node's io_context.
template <class T>
using Task = boost::asio::awaitable<T>;

}  // namespace ferry::chains
