#include "chains/evm/contracts.hpp"

#include "ferry/chains/evm/contract_artifacts.hpp"

namespace ferry::chains::evm {

std::string_view contract_name(Contract contract) noexcept {
    switch (contract) {
        case Contract::outbox:
            return "Outbox";
        case Contract::inbox:
            return "Inbox";
        case Contract::test_recipient:
            return "TestRecipient";
    }
    return {};
}

std::string_view bytecode(Contract contract) noexcept {
    switch (contract) {
        case Contract::outbox:
            return artifacts::kOutboxBytecode;
        case Contract::inbox:
            return artifacts::kInboxBytecode;
        case Contract::test_recipient:
            return artifacts::kTestRecipientBytecode;
    }
    return {};
}

std::string_view abi_json(Contract contract) noexcept {
    switch (contract) {
        case Contract::outbox:
            return artifacts::kOutboxAbi;
        case Contract::inbox:
            return artifacts::kInboxAbi;
        case Contract::test_recipient:
            return artifacts::kTestRecipientAbi;
    }
    return {};
}

}  // namespace ferry::chains::evm
