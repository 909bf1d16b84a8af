// JSON mapping of the Ethereum JSON-RPC wire types: quantities ("0x.." integers), hex data,
// logs, block headers, receipts, fee history, call requests and log filters.
//
// The *_from_json decoders read untrusted node answers: they return Result<T> with a json_*
// error and never throw. Unknown fields are ignored. The to_json encoders write what a node
// writes (and what the decoders accept), so a decoded value round-trips.
#pragma once

#include "chains/evm/abi.hpp"  // U256
#include "chains/evm/error.hpp"
#include "chains/evm/log.hpp"
#include "chains/evm/rpc_types.hpp"
#include "crypto/bytes.hpp"
#include "crypto/types.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::chains::evm {

/// True when the brackets of JSON text (those outside strings) nest deeper than `limit`. Run on
/// untrusted text before parsing it, so that a hostile "[[[[..." never makes the JSON library
/// recurse deep when the document is later copied, compared or destroyed. Closing brackets
/// without an opening one are ignored (the text is not valid JSON; the parser refuses it).
bool json_nested_deeper_than(std::string_view text, std::size_t limit);

/// "0x" + lower-case hex without leading zeros ("0x0" for zero), as JSON-RPC spells quantities.
std::string to_quantity(std::uint64_t v);
std::string to_quantity(const U256& v);

/// Parses a quantity string. Leading zeros are tolerated (some nodes write them); "0x" alone,
/// a missing prefix, a non-hex digit or a value too large for the type is json_bad_quantity.
Result<std::uint64_t> parse_quantity_u64(std::string_view s);
Result<U256> parse_quantity_u256(std::string_view s);

/// The same for a JSON value, which must be a string (json_wrong_type otherwise).
Result<std::uint64_t> quantity_u64_from_json(const nlohmann::json& j);
Result<U256> quantity_u256_from_json(const nlohmann::json& j);
/// "0x" + an even number of hex digits.
Result<crypto::Bytes> data_from_json(const nlohmann::json& j);
Result<crypto::Address> address_from_json(const nlohmann::json& j);
Result<crypto::Hash32> hash_from_json(const nlohmann::json& j);

/// A block number as a quantity, or a tag as its name ("latest", "safe", ...).
nlohmann::json to_json(const BlockId& id);

Result<Log> log_from_json(const nlohmann::json& j);
nlohmann::json to_json(const Log& log);

/// Decodes a block (the header fields of BlockHeader; transactions are ignored).
Result<BlockHeader> block_header_from_json(const nlohmann::json& j);
nlohmann::json to_json(const BlockHeader& header);

Result<Receipt> receipt_from_json(const nlohmann::json& j);
nlohmann::json to_json(const Receipt& receipt);

/// Checks that base fees hold one entry more than gas used ratios and rewards one per block.
Result<FeeHistory> fee_history_from_json(const nlohmann::json& j);
nlohmann::json to_json(const FeeHistory& history);

/// The transaction object of eth_call / eth_estimateGas (absent fields are left out).
nlohmann::json to_json(const CallRequest& call);

/// The filter object of eth_getLogs (topic lists of one value are written as that value).
nlohmann::json to_json(const LogFilter& filter);

}  // namespace ferry::chains::evm
