// race-selftest.cpp: what the race check (race-check.sh) must find and must not, each a kernel of
// one block, run on the emulator's scheduler under ThreadSanitizer. `race-selftest CASE` runs one;
// ThreadSanitizer's exit code (66) says it reported a race, and a case that checks a value
// exits 1 when the value is wrong. race-check.sh knows which cases should report.
#include "emulator.h"
#include <cstdio>
#include <cstring>

namespace
{
int out[256];
unsigned short source[256 * 8];

// Each thread writes its own slot, then reads its neighbour's: racy without the barrier.
void neighbour(bool barrier)
{
    __shared__ int s[256];
    s[threadIdx.x] = (int)threadIdx.x;
    if (barrier) __syncthreads();
    out[threadIdx.x] = s[(threadIdx.x + 1) % 256];
}

// A shuffle orders no memory (on the hardware neither): the neighbour's slot is still racy.
void after_shuffle()
{
    __shared__ int s[256];
    s[threadIdx.x] = (int)threadIdx.x;
    int v = __shfl_xor_sync(0xffffffffu, (int)threadIdx.x, 1);
    out[threadIdx.x] = s[threadIdx.x ^ 1] + v;
}

// cp.async into each thread's 16 bytes; waited for by the issuing thread, then read by its
// neighbour: racy without a barrier after the wait.
void copied(bool barrier)
{
    __shared__ __align__(16) unsigned short s[256 * 8];
    emu::cp_async(&s[threadIdx.x * 8], &source[threadIdx.x * 8], 16);
    emu::cp_async_commit();
    emu::cp_async_wait(0);
    if (barrier) __syncthreads();
    out[threadIdx.x] = s[((threadIdx.x + 1) % 256) * 8];
}

// The neighbour reads between two barriers while the copy is still in flight (waited for only
// after the second): racy, as the copy may land at any point before the wait.
void read_in_flight()
{
    __shared__ __align__(16) unsigned short s[256 * 8];
    emu::cp_async(&s[threadIdx.x * 8], &source[threadIdx.x * 8], 16);
    emu::cp_async_commit();
    __syncthreads();
    out[threadIdx.x] = s[((threadIdx.x + 1) % 256) * 8];
    __syncthreads();
    emu::cp_async_wait(0);
}

// A thread that reads its own destination before waiting sees what was there (here 0), after
// waiting the copy (no race: one thread).
void own_copy()
{
    __shared__ __align__(16) unsigned short s[256 * 8];
    std::memset(&s[threadIdx.x * 8], 0, 16);
    emu::cp_async(&s[threadIdx.x * 8], &source[threadIdx.x * 8], 16);
    emu::cp_async_commit();
    int before = s[threadIdx.x * 8];
    emu::cp_async_wait(0);
    out[threadIdx.x] = before == 0 && s[threadIdx.x * 8] == source[threadIdx.x * 8] ? 1 : 0;
}
}

int main(int argc, char** argv)
{
    for (int i = 0; i < 256 * 8; i++) source[i] = (unsigned short)(i + 1);
    const char* name = argc > 1 ? argv[1] : "";
    emu::Body body;
    if (!std::strcmp(name, "missing-barrier")) body = [] { neighbour(false); };
    else if (!std::strcmp(name, "barrier")) body = [] { neighbour(true); };
    else if (!std::strcmp(name, "shuffle")) body = [] { after_shuffle(); };
    else if (!std::strcmp(name, "copy-missing-barrier")) body = [] { copied(false); };
    else if (!std::strcmp(name, "copy-barrier")) body = [] { copied(true); };
    else if (!std::strcmp(name, "copy-in-flight")) body = [] { read_in_flight(); };
    else if (!std::strcmp(name, "copy-own")) body = [] { own_copy(); };
    else
    {
        std::fprintf(stderr, "race-selftest: unknown case '%s'\n", name);
        return 2;
    }
    std::string error;
    if (!emu::run_grid(name, {1, 1, 1}, {256, 1, 1}, body, error))
    {
        std::fprintf(stderr, "race-selftest %s: %s\n", name, error.c_str());
        return 2;
    }
    if (!std::strcmp(name, "copy-own"))
        for (int t = 0; t < 256; t++)
            if (out[t] != 1)
            {
                std::fprintf(stderr, "race-selftest copy-own: thread %d read its cp.async destination wrong\n", t);
                return 1;
            }
    return 0;
}
