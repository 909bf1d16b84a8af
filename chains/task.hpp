// The coroutine type of all I/O in Ferry (docs/style.md, Concurrency): a task on the node's one
// io_context. Header of its own so that code needing only the type (the API server, the HTTP
// transport) does not see the chain interface.
#pragma once

#include <boost/asio/awaitable.hpp>

namespace ferry::chains {

/// A coroutine on the node's io_context.
template <class T>
using Task = boost::asio::awaitable<T>;

}  // namespace ferry::chains
