// Runs one coroutine to its end on a test's io_context and hands back its value, so a stage
// test can drive one step at a time.
#pragma once

#include "chains/task.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <utility>

namespace ferry::test {

/// co_spawns `task` on `io`, runs `io` until it is done and returns its result (rethrowing
/// what it threw).
template <class T>
T run_task(boost::asio::io_context& io, chains::Task<T> task) {
    auto future = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
    io.restart();
    io.run();
    return future.get();
}

}  // namespace ferry::test
