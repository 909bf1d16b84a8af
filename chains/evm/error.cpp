#include "chains/evm/error.hpp"

#include <string>

namespace ferry::chains::evm {
namespace {

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "ferry.evm"; }

    std::string message(int ev) const override {
        switch (static_cast<Error>(ev)) {
            case Error::ok:
                return "success";
            case Error::rlp_truncated:
                return "RLP: input ends inside an item";
            case Error::rlp_non_canonical_size:
                return "RLP: length is not in canonical form";
            case Error::rlp_non_canonical_byte:
                return "RLP: a single byte below 0x80 must not be wrapped as a string";
            case Error::rlp_trailing_bytes:
                return "RLP: bytes left after the item";
            case Error::rlp_unexpected_list:
                return "RLP: expected a string, found a list";
            case Error::rlp_unexpected_string:
                return "RLP: expected a list, found a string";
            case Error::rlp_integer_overflow:
                return "RLP: integer too large for its type";
            case Error::rlp_integer_leading_zero:
                return "RLP: integer has a leading zero byte";
            case Error::rlp_too_deep:
                return "RLP: lists nested too deeply";
            case Error::rlp_wrong_size:
                return "RLP: fixed-size value has the wrong length";
            case Error::abi_truncated:
                return "ABI: data ends before the value it encodes";
            case Error::abi_bad_offset:
                return "ABI: offset points outside the data";
            case Error::abi_bad_padding:
                return "ABI: non-zero padding bytes";
            case Error::abi_value_out_of_range:
                return "ABI: value out of range for its type";
            case Error::abi_too_large:
                return "ABI: length larger than the data";
            case Error::abi_wrong_topic:
                return "ABI: log is not the expected event";
            case Error::abi_wrong_topic_count:
                return "ABI: log has the wrong number of topics";
            case Error::abi_wrong_selector:
                return "ABI: calldata is not a call to the expected function";
            case Error::packet_too_short:
                return "packet: shorter than the 97-byte header";
            case Error::packet_bad_version:
                return "packet: version is not 1";
            case Error::packet_body_too_large:
                return "packet: body longer than max_body_bytes";
            case Error::packet_zero_nonce:
                return "packet: nonce 0 is invalid (nonces start at 1)";
            case Error::packet_id_mismatch:
                return "packet: keccak256(packet) is not the claimed id";
            case Error::packet_event_mismatch:
                return "packet: PacketSent topics disagree with the packet they carry";
            case Error::tx_bad_type:
                return "transaction: not an EIP-1559 (type 2) transaction";
            case Error::tx_bad_signature:
                return "transaction: signature values out of range";
            case Error::tx_bad_field_count:
                return "transaction: a signed EIP-1559 transaction has 12 fields";
            case Error::json_wrong_type:
                return "JSON-RPC: a field has the wrong JSON type";
            case Error::json_missing_field:
                return "JSON-RPC: a required field is missing";
            case Error::json_bad_quantity:
                return "JSON-RPC: a quantity is not 0x-prefixed hex or is too large";
            case Error::json_bad_data:
                return "JSON-RPC: hex data, hash or address is malformed or has the wrong size";
        }
        return "unknown ferry.evm error " + std::to_string(ev);
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const Category category;
    return category;
}

}  // namespace ferry::chains::evm
