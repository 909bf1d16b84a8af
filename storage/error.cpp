#include "storage/error.hpp"

#include <string>

namespace ferry::storage {
namespace {

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "ferry.storage"; }

    std::string message(int ev) const override {
        switch (static_cast<Error>(ev)) {
            case Error::ok:
                return "success";
            case Error::open_failed:
                return "the database file could not be opened or created";
            case Error::not_a_database:
                return "the file is not an SQLite database";
            case Error::foreign_database:
                return "the SQLite database belongs to another application, not Ferry";
            case Error::schema_too_new:
                return "the database was written by a newer Ferry (schema version too new); "
                       "upgrade Ferry or point it at another file";
            case Error::corrupt:
                return "the database is corrupt";
            case Error::busy:
                return "the database is locked by another writer";
            case Error::disk_full:
                return "the disk is full";
            case Error::io:
                return "disk I/O error";
            case Error::sqlite:
                return "SQLite error";
            case Error::invalid_argument:
                return "invalid argument to a queue operation";
            case Error::not_found:
                return "no such packet or delivery";
            case Error::illegal_transition:
                return "illegal packet state transition";
            case Error::duplicate_delivery:
                return "a delivery with this transaction hash exists";
            case Error::delivery_not_live:
                return "the delivery is no longer live (mined, replaced, dropped or failed)";
            case Error::account_nonce_mismatch:
                return "a replacement transaction must use the same chain, account and nonce";
            case Error::receipt_exists:
                return "the receipt of this delivery is already recorded";
        }
        return "unknown ferry.storage error " + std::to_string(ev);
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const Category category;
    return category;
}

}  // namespace ferry::storage
