// Checksum ranges: which records of an entity differ between source and target, found without
// reading the records — the source's key range is cut into parts of a few thousand rows at its
// own keys (Connector::KeySplits, so any key distribution gives parts of similar size), each
// database checksums each part of its own table (Connector::Checksum), parts whose checksums
// agree are equal and skipped, and for a part that differs both sides list the hash of each row
// (Connector::RowHashes), which names the keys that differ. Used by compare runs (tether diff,
// verify) and by full syncs, which then read and write only those records. Runs on the calling
// thread plus one helper thread per call (the two sides work at once); each connector is used
// by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "engine/mapping.h"

namespace tether {

struct ChecksumPlanOptions {
  size_t part_rows = 8192;  // source rows per checksummed part
};

// What differs, in key order: records named by key (of either side), or a range the target
// has no row of (read and copied whole: no need to hash what is all new).
struct ChecksumWork {
  std::optional<KeyRange> copy;  // when set, `keys` is empty
  std::vector<Row> keys;
};

struct ChecksumPlan {
  std::vector<ChecksumWork> work;  // in key order
  int64_t equal_rows = 0;          // source rows whose checksums (or row hashes) agreed
  int64_t parts = 0;               // parts checksummed (on each side)
  int64_t hashed_parts = 0;        // parts that differed, whose rows were hashed one by one
  int64_t hashed_rows = 0;         // source rows in those parts
  int64_t differing = 0;           // records named by key in `work`
  int64_t copy_rows = 0;           // source rows in the ranges to copy whole
  // "checksums: 123 parts, 4 differed (32,768 rows hashed, 12 records differ)", and the rows
  // to copy when there are.
  std::string Summary() const;
};

// Why `m` cannot be compared by checksums, or "" when it can: identity keys of integer columns
// (whose order is the same in every engine, so a range holds the same keys on both sides),
// every target column a plain copy of a source column of the same type class (no value map,
// default, rule, soft-delete column or reference to a mapped parent), no real or json columns
// (engines print those differently), and both connectors able to checksum.
// `config` tells whether a referenced parent is identity-keyed too.
std::string ChecksumIneligibility(const EntityMapping& m, const Config& config,
                                  const Connector& source, const Connector& target);

// The records of `m` that differ within `within` (all rows of the entity: no conditions).
Result<ChecksumPlan> PlanByChecksums(Connector* source, Connector* target, const EntityMapping& m,
                                     const KeyRange& within,
                                     const ChecksumPlanOptions& options = {});

}  // namespace tether
