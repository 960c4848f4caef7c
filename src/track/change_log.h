// ChangeLog: change tracking on a source database (`tether track`). Installs tether_changes —
// (seq, entity, row_key, op, changed_at, origin), filled by insert / update / delete triggers
// on each tracked table (Connector::TrackingDdl) — and tether_tracked, the registry of what is
// tracked; reports on it, prunes consumed changes and reads them back in order. Works the same
// on SQLite, PostgreSQL and MySQL/MariaDB. Not thread-safe (one connector).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.h"

namespace tether {

inline constexpr char kChangesTable[] = "tether_changes";
inline constexpr char kTrackedTable[] = "tether_tracked";
// A pipeline's consumption of an entity's changes is its checkpoint (state store) with this
// mode, whose position is the last seq it consumed.
inline constexpr char kChangesMode[] = "changes";

struct TrackStatus {
  std::string entity;
  std::string table;
  std::vector<std::string> key_columns;
  std::string installed_at;
  int64_t pending = 0;  // change rows held for the entity
  std::optional<int64_t> first_seq, last_seq;
  std::string oldest, newest;  // changed_at of the first and last of them
};

struct Change {
  int64_t seq = 0;
  std::string entity;
  std::string row_key;  // the key as text; a JSON array for a composite key
  char op = 'U';        // 'I', 'U' or 'D'
  std::string changed_at;
  std::optional<std::string> origin;  // kTetherOrigin for tether's own writes
};

class ChangeLog {
 public:
  explicit ChangeLog(Connector* source) : db_(source) {}

  // Creates the tables if needed and (re)creates the triggers of each table. Installing twice
  // is harmless; a table or key column that does not exist is a kNotFound naming it.
  Status Install(const std::vector<TrackedTable>& tables);
  // Removes the triggers, registry rows and change rows of `entities` (all when empty); the
  // tracked tables themselves are not touched. With nothing left tracked, tether's tables go.
  Status Uninstall(const std::vector<std::string>& entities);
  // One entry per tracked entity, by name; empty when tracking is not installed.
  Result<std::vector<TrackStatus>> Describe();
  // Deletes the changes up to and including `upto` (of every entity: a reader walks the whole
  // sequence, and a hole above its position would look like a transaction still open), except
  // the newest change row of the log, so that the sequence never restarts below what a reader
  // has seen. Returns how many were deleted.
  Result<int64_t> Prune(int64_t upto);
  // The changes after `after`, in seq order, at most `limit`: of `entity`, or of all.
  Result<std::vector<Change>> Read(const std::string& entity, int64_t after, size_t limit);
  Result<std::vector<Change>> ReadAll(int64_t after, size_t limit);
  // The highest seq whose change is older than `age_seconds` (0 when there is none): where a
  // reader that has just copied the whole table may start.
  Result<int64_t> SettledSeq(int64_t age_seconds);

 private:
  Result<bool> Installed();
  // The SQL of the change log's own statements: kUnsupported for a system that takes none.
  Result<const SqlDialect*> Sql() const;
  Result<std::vector<Change>> Select(const std::string& where, const Row& params, size_t limit);

  Connector* db_;
};

}  // namespace tether
