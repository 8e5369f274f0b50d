// A connection to SPI for the duration of one function call.
//
// Queries run with the caller's privileges, so table and column permissions
// and row-level security apply to everything the extension reads. While the
// session is open search_path is pg_catalog, pg_temp: the SQL we build names
// the user's table schema-qualified, and no operator or function a user put in
// another schema can be picked up by it.
#pragma once

#include <string>
#include <vector>

#include "pg_includes.hpp"

namespace crm::pg {

class SpiSession {
public:
    SpiSession();
    ~SpiSession();
    SpiSession(const SpiSession&) = delete;
    SpiSession& operator=(const SpiSession&) = delete;

    // Runs a read-only query with parameters; returns the number of rows.
    // The result is in SPI_tuptable until the next query or finish().
    std::uint64_t query(const std::string& sql, const std::vector<Oid>& types, const std::vector<Datum>& values);

    // Runs a read-only query and hands every row to `on_row` as it is produced,
    // instead of materialising the result. on_row runs inside PostgreSQL: it
    // must be C-only code (no C++ allocation, no throw). Returns the row count.
    using RowCallback = void (*)(TupleTableSlot* slot, void* arg);
    std::uint64_t stream(const std::string& sql, const std::vector<Oid>& types, const std::vector<Datum>& values,
                         RowCallback on_row, void* arg);

    // Ends the session on the normal path. On an error path the transaction
    // abort cleans SPI up, so the destructor does nothing then.
    void finish();

private:
    bool open_ = false;
    int guc_nest_level_ = 0;
};

}  // namespace crm::pg
