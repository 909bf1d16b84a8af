#include "crypto/error.hpp"

#include <string>

namespace ferry::crypto {
namespace {

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "ferry.crypto"; }

    std::string message(int ev) const override {
        switch (static_cast<Error>(ev)) {
            case Error::ok:
                return "success";
            case Error::hex_odd_length:
                return "hex string has an odd number of digits";
            case Error::hex_bad_digit:
                return "hex string has a character that is not a hex digit";
            case Error::hex_wrong_size:
                return "hex string decodes to the wrong number of bytes";
            case Error::hex_missing_prefix:
                return "hex string must start with 0x";
            case Error::hex_unexpected_prefix:
                return "hex string must not start with 0x";
            case Error::invalid_private_key:
                return "private key is not a valid secp256k1 scalar (zero or >= curve order)";
            case Error::invalid_public_key:
                return "public key is not a point on secp256k1";
            case Error::invalid_signature:
                return "signature r or s is out of range";
            case Error::signature_high_s:
                return "signature s is in the upper half of the curve order (EIP-2 forbids it)";
            case Error::signature_bad_v:
                return "signature v must be 27 or 28";
            case Error::recovery_failed:
                return "no public key recovers from this signature";
            case Error::signing_failed:
                return "secp256k1 signing failed";
            case Error::keystore_malformed:
                return "keystore JSON is malformed";
            case Error::keystore_unsupported:
                return "keystore uses an unsupported version, cipher or KDF, or KDF parameters "
                       "above Ferry's limits";
            case Error::keystore_wrong_password:
                return "keystore MAC mismatch: wrong password or corrupted file";
            case Error::keystore_kdf_failed:
                return "keystore key derivation failed";
            case Error::keystore_io:
                return "keystore file could not be read or written";
            case Error::keystore_insecure_permissions:
                return "keystore file is readable by group or others; run chmod 600 on it";
            case Error::keystore_file_exists:
                return "keystore file already exists; refusing to overwrite it";
        }
        return "unknown ferry.crypto error " + std::to_string(ev);
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const Category category;
    return category;
}

}  // namespace ferry::crypto
