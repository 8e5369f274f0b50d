// Where the cold-chain transition function queues its readings: one
// crm::ReadingBatch per aggregate memory context (see ReadingBatch for why).
//
// A batch holds pointers to states, so it must never outlive them unflushed:
// it is cleared by a reset callback on the states' aggregate context (every
// way PostgreSQL frees states resets or deletes that context: the end of a
// group, a hash batch, a rescan, an error), and it lives in the call site's
// memory, which is checked to be an ancestor of that context. Every function
// that reads a state settles it first.
#pragma once

#include "series_accumulator.hpp"

#include "bridge.hpp"

namespace crm::pg {

// The batch for the states of `aggregate_context`, made on first use and
// cached in the call site (fn_extra). nullptr when the call site's memory is
// not an ancestor of that context: the caller then adds readings directly.
crm::ReadingBatch* reading_batch(FunctionCallInfo fcinfo, MemoryContext aggregate_context);

// Adds the readings queued in the state's batch (its own and those of the
// other states it feeds) to their series; checks crm.max_fit_memory for each
// state that grew. Nothing to do for a state without a batch. It takes a const
// state because final functions (FINALFUNC_MODIFY = READ_ONLY) call it: it
// only completes adds the transition function deferred, so the state's value
// is the same before and after, which is all READ_ONLY promises PostgreSQL
// (a window aggregate or a reused hash table goes on with the state).
void settle(const crm::SeriesAccumulator* state);

}  // namespace crm::pg
