#include "series_batches.hpp"

#include <vector>

#include "context_object.hpp"
#include "fn_cache.hpp"
#include "partial_state.hpp"

namespace crm::pg {

namespace {

// A batch and the aggregate context whose states it feeds.
struct ContextBatch {
    MemoryContext context = nullptr;
    bool armed = false;  // on_reset is registered on `context`
    MemoryContextCallback on_reset{};
    crm::ReadingBatch batch;
};

// fn_extra of a transition call site: a batch per aggregate context it has
// fed (grouping sets use one context per set).
struct BatchDirectory {
    std::vector<ContextBatch*> batches;
};

// The context is being reset or deleted: its states, and with them the
// readings queued for them, are gone. The callback is spent; the next state
// made in the context registers it again.
void forget_states(void* arg) {
    auto* entry = static_cast<ContextBatch*>(arg);
    entry->batch.clear();
    entry->armed = false;
}

bool is_ancestor(MemoryContext ancestor, MemoryContext context) {
    for (MemoryContext c = context->parent; c != nullptr; c = c->parent)
        if (c == ancestor) return true;
    return false;
}

}  // namespace

crm::ReadingBatch* reading_batch(FunctionCallInfo fcinfo, MemoryContext aggregate_context) {
    MemoryContext home = fcinfo->flinfo->fn_mcxt;
    if (home == nullptr || !is_ancestor(home, aggregate_context)) return nullptr;
    BatchDirectory& directory = fn_cache<BatchDirectory>(fcinfo);
    ContextBatch* entry = nullptr;
    for (ContextBatch* b : directory.batches)
        if (b->context == aggregate_context) entry = b;
    if (entry == nullptr) {
        // A disarmed entry's context was reset or deleted and its batch is empty: reuse it.
        for (ContextBatch* b : directory.batches)
            if (!b->armed) {
                entry = b;
                break;
            }
        if (entry == nullptr) {
            directory.batches.reserve(directory.batches.size() + 1);  // cannot throw after the allocation below
            entry = make_in_context<ContextBatch>(home);
            directory.batches.push_back(entry);
        }
        entry->context = aggregate_context;
    }
    if (!entry->armed) {
        entry->on_reset.func = &forget_states;
        entry->on_reset.arg = entry;
        pg_guard([aggregate_context, entry] { MemoryContextRegisterResetCallback(aggregate_context, &entry->on_reset); });
        entry->armed = true;
    }
    return &entry->batch;
}

void settle(const crm::SeriesAccumulator* state) {
    if (state == nullptr || state->batch() == nullptr || state->batch()->empty()) return;
    state->batch()->flush(
        [](const crm::SeriesAccumulator& grown) { check_state_memory(grown, "a crm cold-chain aggregate"); });
}

}  // namespace crm::pg
