#include "tests/support/anvil.hpp"

#include "devnet/process.hpp"

#include <stdexcept>
#include <utility>

namespace ferry::test {

AnvilProcess::AnvilProcess(Options options) : options_(options) {
    devnet::AnvilOptions anvil;
    anvil.anvil = FERRY_ANVIL;
    anvil.chain_id = options_.chain_id;
    if (options_.block_time) anvil.block_time_s = static_cast<double>(*options_.block_time);
    auto node = devnet::AnvilNode::start(std::move(anvil));
    if (!node) throw std::runtime_error(node.error().message);
    node_ = std::make_unique<devnet::AnvilNode>(std::move(*node));
    port_ = node_->port();
    url_ = node_->url();
}

AnvilProcess::~AnvilProcess() { stop(); }

std::string AnvilProcess::output() const { return node_ ? node_->output() : std::string(); }

void AnvilProcess::stop() noexcept {
    if (node_) {
        node_->stop();
        node_.reset();
    }
}

}  // namespace ferry::test
