#include "relayer/metrics_endpoint.hpp"

#include "relayer/node_state.hpp"

namespace ferry::relayer {

using chains::Task;

void register_metrics_endpoints(Node& node) {
    node.api->add_get("/health", [](const RequestContext&) -> Task<HttpReply> {
        co_return HttpReply{200, "text/plain; charset=utf-8", "ok\n"};
    });
}

}  // namespace ferry::relayer
