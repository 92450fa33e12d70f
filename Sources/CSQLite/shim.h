// CSQLite: the system library libsqlite3 (Debian: libsqlite3-dev) and
// non-variadic wrappers for the variadic calls Swift cannot make.
#ifndef MEMJOURNAL_CSQLITE_SHIM_H
#define MEMJOURNAL_CSQLITE_SHIM_H

#include <sqlite3.h>

/// sqlite3_db_config(db, op, int, int*) for the boolean options
/// (SQLITE_DBCONFIG_DEFENSIVE, _TRUSTED_SCHEMA, _ENABLE_TRIGGER, _ENABLE_VIEW,
/// _ENABLE_FKEY, _DQS_DML, _DQS_DDL, …). Returns the SQLite result code; on
/// success *now holds the option's new state.
static inline int mj_sqlite3_db_config_bool(sqlite3 *db, int op, int value, int *now) {
    return sqlite3_db_config(db, op, value, now);
}

/// SQLITE_TRANSIENT is a cast of -1 to a function pointer, which Swift cannot
/// import as a constant.
static inline sqlite3_destructor_type mj_sqlite3_transient(void) {
    return SQLITE_TRANSIENT;
}

#endif
