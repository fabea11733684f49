// scheduler.cpp: a grid's blocks shared out to a few OS threads (one per core), each block's
// threads as fibers on the OS thread that runs it. A fiber runs until it reaches a barrier
// (__syncthreads, or a warp-wide instruction) or ends; when every live thread of the block (or
// of the warp) waits there, they all go on.
// Threads that have returned no longer count, as on the hardware.
//
// Built with --tsan (build.sh), each fiber is a ThreadSanitizer fiber: the kernels' accesses are
// instrumented, the switches between a block's threads carry no order, and a __syncthreads orders
// everything before it before everything after it, so two threads' accesses to one place with no
// barrier between them, one a write, are reported. Warp-wide instructions order nothing (on the
// hardware a shuffle is no fence either); ldmatrix's shared-memory reads are declared here.
#include "emulator.h"
#include <cstdint>
#include <cstdio>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <sys/mman.h>
#include <vector>

// A fiber switch: saves the callee-saved registers and the floating-point control words on this
// stack, stores its pointer in *from and resumes the stack `to` (x86-64 System V). ucontext's
// swapcontext would do as well but makes a system call per switch, and a block of 256 threads
// switches at every __syncthreads.
#if !defined(__x86_64__)
#error "the CUDA emulator's fiber switch is written for x86-64"
#endif
extern "C" void emu_switch(void** from, void* to);
asm(R"(
    .text
    .globl emu_switch
    .hidden emu_switch
    .type emu_switch, @function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_switch, .-emu_switch
)");

#if defined(YOLOCORE_EMULATOR_TSAN)
extern "C" void* __tsan_get_current_fiber();
extern "C" void* __tsan_create_fiber(unsigned flags);
extern "C" void __tsan_switch_to_fiber(void* fiber, unsigned flags);
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
extern "C" void __tsan_read_range(const void* addr, unsigned long size);
constexpr unsigned NoSync = 1; // __tsan_switch_to_fiber_no_sync
#endif

namespace emu
{
thread_local Thread* current;
thread_local uint3 block_idx, block_dim, grid_dim;

namespace
{
enum class State { Ready, AtBlock, AtWarp, Done };

struct Fiber
{
    void* sp;
    Thread thread;
    State state;
    bool started;       // has run since its block began (its first switch in carries the launch's order)
    unsigned barriers;  // __syncthreads passed in this block
};

struct Warp
{
    unsigned long long values[32];
    unsigned words[32][8];
    // mma's operands as matrices, decoded once per meeting by its first lane.
    bool decoded;
    float a[16][16], b[16][8];
};

constexpr std::size_t StackBytes = 256 << 10;

struct Block
{
    void* scheduler;
    void* tsan_scheduler;            // the OS thread's own ThreadSanitizer fiber (--tsan)
    std::vector<void*> tsan_fibers;  // thread t's (kept from grid to grid: they are never freed)
    char barrier_order[2];  // what barriers k and k + 1 order, alternately (--tsan)
    char block_end;         // the block's threads' ends, ordered before what the OS thread does next (--tsan)
    std::vector<Fiber> fibers;
    std::vector<Warp> warps;
    std::vector<char*> stacks;
    const Body* body = nullptr;
};

thread_local Block* running;
thread_local Fiber* fiber;

std::map<std::string, Binder>& table()
{
    static std::map<std::string, Binder> kernels;
    return kernels;
}

// Back to the block's scheduler, carrying no order: a thread that ends before the next one has
// started orders nothing for it (its end is ordered before what follows the block, block_end).
void to_scheduler(Fiber* self)
{
#if defined(YOLOCORE_EMULATOR_TSAN)
    __tsan_switch_to_fiber(running->tsan_scheduler, NoSync);
#endif
    emu_switch(&self->sp, running->scheduler);
}

void yield(State state)
{
    Fiber* self = fiber;
    self->state = state;
    to_scheduler(self);
}

// Where a new fiber starts (emu_switch returns into it); it never returns. Copies still in
// flight land as the thread ends.
void fiber_main()
{
    (*running->body)();
    cp_async_wait(0);
    fiber->state = State::Done;
#if defined(YOLOCORE_EMULATOR_TSAN)
    __tsan_release(&running->block_end);
#endif
    to_scheduler(fiber);
}

// A stack that emu_switch resumes into fiber_main: the control words, six registers, the return address.
void* fresh_stack(char* stack)
{
    auto* top = (std::uint64_t*)(((std::uintptr_t)(stack + StackBytes) & ~(std::uintptr_t)15) - 16);
    top[0] = (std::uint64_t)&fiber_main; // 16-byte aligned: at fiber_main's entry rsp + 8 is, as after a call
    for (int r = 1; r <= 6; r++) top[-r] = 0;
    unsigned control[2];
    asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(control[0]), "=m"(control[1]));
    std::memcpy(&top[-7], control, 8);
    return &top[-7];
}

// Lets every waiting thread of the block, or of a warp, go on once all its live threads wait.
bool release(Block& b)
{
    bool any = false;
    std::size_t live = 0, atBlock = 0;
    for (auto& f : b.fibers)
        if (f.state != State::Done) { live++; if (f.state == State::AtBlock) atBlock++; }
    if (live > 0 && atBlock == live)
    {
        for (auto& f : b.fibers)
            if (f.state == State::AtBlock) f.state = State::Ready;
        return true;
    }
    for (std::size_t w = 0; w * 32 < b.fibers.size(); w++)
    {
        std::size_t end = std::min(b.fibers.size(), w * 32 + 32), waiting = 0, alive = 0;
        for (std::size_t i = w * 32; i < end; i++)
            if (b.fibers[i].state != State::Done) { alive++; if (b.fibers[i].state == State::AtWarp) waiting++; }
        if (alive > 0 && waiting == alive)
        {
            for (std::size_t i = w * 32; i < end; i++)
                if (b.fibers[i].state == State::AtWarp) b.fibers[i].state = State::Ready;
            any = true;
        }
    }
    return any;
}
}

void register_kernel(const char* name, Binder bind) { table()[name] = std::move(bind); }

const Binder* find_kernel(const char* name)
{
    auto it = table().find(name);
    return it == table().end() ? nullptr : &it->second;
}

namespace
{
// One block from start to end on this OS thread; false (and why) when its threads cannot go on.
bool run_block(Block& b, uint3 idx, std::string& error)
{
    block_idx = idx;
    uint3 block = block_dim;
    for (std::size_t t = 0; t < b.fibers.size(); t++)
    {
        Fiber& f = b.fibers[t];
        f.state = State::Ready;
        f.thread.idx = {(unsigned)(t % block.x), (unsigned)(t / block.x % block.y), (unsigned)(t / block.x / block.y)};
        f.thread.lane = (int)(t % 32);
        f.thread.warp = (int)(t / 32);
        f.thread.pending = f.thread.committed = 0;
        f.started = false;
        f.barriers = 0;
        f.sp = fresh_stack(b.stacks[t]);
    }
    for (;;)
    {
        bool ran = false;
        for (auto& f : b.fibers)
            if (f.state == State::Ready)
            {
                fiber = &f;
                current = &f.thread;
#if defined(YOLOCORE_EMULATOR_TSAN)
                __tsan_switch_to_fiber(b.tsan_fibers[&f - b.fibers.data()], f.started ? NoSync : 0);
#endif
                f.started = true;
                emu_switch(&b.scheduler, f.sp);
                ran = true;
            }
        bool done = true;
        for (auto& f : b.fibers) done &= f.state == State::Done;
        if (done)
        {
#if defined(YOLOCORE_EMULATOR_TSAN)
            __tsan_acquire(&b.block_end);
#endif
            return true;
        }
        if (!release(b) && !ran)
        {
            error = "block (" + std::to_string(idx.x) + ", " + std::to_string(idx.y) + ", " + std::to_string(idx.z) +
                ") cannot go on: some threads wait at __syncthreads and others at a warp instruction";
            return false;
        }
    }
}

// The OS threads that run blocks beside the launching one (YOLOCORE_EMULATOR_THREADS, default
// one per core): each has its own fibers and, __shared__ being thread_local, its own shared memory.
struct Pool
{
    std::mutex mutex;
    std::condition_variable start, finished;
    std::vector<std::thread> threads;
    std::function<void()> job;
    unsigned long generation = 0;
    int wanted = 0, pending = 0;

    static int size()
    {
        static const int n = [] {
            const char* v = std::getenv("YOLOCORE_EMULATOR_THREADS");
            int t = v ? std::atoi(v) : (int)std::thread::hardware_concurrency();
            return t < 1 ? 1 : t;
        }();
        return n;
    }

    // Runs job on `workers` OS threads (this one among them) and returns when all have finished.
    void run(int workers, const std::function<void()>& work)
    {
        {
            std::unique_lock lock(mutex);
            while ((int)threads.size() < workers - 1)
            {
                int index = (int)threads.size();
                threads.emplace_back([this, index] { serve(index); });
                threads.back().detach();
            }
            job = work;
            wanted = workers - 1;
            pending = workers - 1;
            generation++;
        }
        start.notify_all();
        work();
        std::unique_lock lock(mutex);
        finished.wait(lock, [this] { return pending == 0; });
    }

    void serve(int index)
    {
        unsigned long seen = 0;
        for (;;)
        {
            std::function<void()> work;
            {
                std::unique_lock lock(mutex);
                start.wait(lock, [&] { return generation != seen && index < wanted; });
                seen = generation;
                work = job;
            }
            work();
            std::lock_guard lock(mutex);
            if (--pending == 0) finished.notify_all();
        }
    }
};

Pool& pool()
{
    static Pool* p = new Pool; // never destroyed: its threads outlive static destruction
    return *p;
}
}

bool run_grid(const std::string& name, uint3 grid, uint3 block, const Body& body, std::string& error)
{
    std::size_t threads = (std::size_t)block.x * block.y * block.z;
    long long blocks = (long long)grid.x * grid.y * grid.z;
    std::atomic<long long> next{0};
    std::atomic<bool> failed{false};
    std::mutex error_gate;
    auto work = [&] {
        static thread_local Block b;
        while (b.stacks.size() < threads)
        {
            void* stack = mmap(nullptr, StackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (stack == MAP_FAILED) { failed = true; std::lock_guard lock(error_gate); error = "out of memory for thread stacks"; return; }
            b.stacks.push_back((char*)stack);
        }
        b.fibers.assign(threads, Fiber{});
#if defined(YOLOCORE_EMULATOR_TSAN)
        b.tsan_scheduler = __tsan_get_current_fiber();
        while (b.tsan_fibers.size() < threads) b.tsan_fibers.push_back(__tsan_create_fiber(0));
#endif
        b.warps.assign((threads + 31) / 32, Warp{});
        b.body = &body;
        running = &b;
        grid_dim = grid;
        block_dim = block;
        std::string why;
        for (long long i; !failed && (i = next++) < blocks;)
        {
            uint3 idx{(unsigned)(i % grid.x), (unsigned)(i / grid.x % grid.y), (unsigned)(i / grid.x / grid.y)};
            if (!run_block(b, idx, why))
            {
                failed = true;
                std::lock_guard lock(error_gate);
                error = name + ": " + why;
            }
        }
        running = nullptr;
    };
    int workers = (int)std::min<long long>(Pool::size(), blocks);
    if (workers <= 1) work();
    else pool().run(workers, work);
    return !failed;
}

[[noreturn]] void fail(const char* what)
{
    std::fprintf(stderr, "CUDA emulator: %s\n", what);
    std::abort();
}

// Everything this thread did before the barrier is ordered before what every thread does after it.
void sync_block()
{
#if defined(YOLOCORE_EMULATOR_TSAN)
    void* order = &running->barrier_order[fiber->barriers & 1];
    __tsan_release(order);
    yield(State::AtBlock);
    __tsan_acquire(order);
#else
    yield(State::AtBlock);
#endif
    fiber->barriers++;
}

unsigned long long exchange(unsigned long long value, int from)
{
    Warp& w = running->warps[current->warp];
    w.values[current->lane] = value;
    yield(State::AtWarp);
    unsigned long long r = w.values[from & 31];
    yield(State::AtWarp); // no lane overwrites its value before every lane has read
    return r;
}

// ldmatrix and mma: the warp's lanes meet, each leaving its operands in words[lane]; afterwards
// every lane reads all 32 lanes' words (valid until the warp's next meeting).
static Warp& warp_gather(const unsigned* words, int n)
{
    Warp& w = running->warps[current->warp];
    std::memcpy(w.words[current->lane], words, n * sizeof(unsigned));
    w.decoded = false;
    yield(State::AtWarp);
    return w;
}

// Shared memory is this OS thread's thread_local arrays of the library: their 32-bit "addresses"
// are offsets from a point 2 GiB below one of them, which covers the library's thread-local block.
static thread_local char anchor;
static std::uintptr_t shared_base()
{
    auto a = (std::uintptr_t)&anchor;
    asm("" : "+r"(a)); // an address, not a TLS offset the linker must fit in 32 bits (race-selftest is an executable)
    return a - (1ull << 31);
}
unsigned shared_address(const void* p) { return (unsigned)((std::uintptr_t)p - shared_base()); }
void* shared_pointer(unsigned address) { return (void*)(shared_base() + address); }

float h2f(unsigned short h)
{
    _Float16 v;
    std::memcpy(&v, &h, 2);
    return (float)v;
}

unsigned short f2h(float f)
{
    _Float16 v = (_Float16)f; // round to nearest even, as cvt.rn.f16.f32
    unsigned short h;
    std::memcpy(&h, &v, 2);
    return h;
}

static float half_at(const unsigned* regs, int element) { return h2f((unsigned short)(regs[element / 2] >> (16 * (element % 2)))); }

// ldmatrix.x4: lane 8q + r gives the address of row r of matrix q (8 halves); lane t receives in
// r[q] row t / 4 of matrix q, elements 2(t % 4) and 2(t % 4) + 1, or, transposed, column t / 4,
// rows 2(t % 4) and 2(t % 4) + 1.
void ldmatrix_x4(unsigned* r, unsigned address, bool transposed)
{
#if defined(YOLOCORE_EMULATOR_TSAN)
    __tsan_read_range(shared_pointer(address), 16); // the row this lane names: 8 halves
#endif
    unsigned mine = address;
    const auto& all = warp_gather(&mine, 1).words;
    int t = current->lane;
    for (int q = 0; q < 4; q++)
    {
        unsigned short lo, hi;
        if (!transposed)
        {
            const unsigned short* row = (const unsigned short*)shared_pointer(all[8 * q + t / 4][0]);
            lo = row[2 * (t % 4)];
            hi = row[2 * (t % 4) + 1];
        }
        else
        {
            lo = ((const unsigned short*)shared_pointer(all[8 * q + 2 * (t % 4)][0]))[t / 4];
            hi = ((const unsigned short*)shared_pointer(all[8 * q + 2 * (t % 4) + 1][0]))[t / 4];
        }
        r[q] = (unsigned)lo | ((unsigned)hi << 16);
    }
    yield(State::AtWarp);
}

// mma.sync m16n8k16 row.col, float32 accumulators, fragments as the PTX ISA lays them out
// (g = lane / 4, i = lane % 4): A a0..a7 at rows g, g + 8 and columns 2i + {0, 1}, + 8; B b0..b3
// at rows 2i + {0, 1}, + 8 and column g; C c0..c3 at rows g, g + 8 and columns 2i + {0, 1}.
void mma_16816(float* c, const unsigned* a, unsigned b0, unsigned b1)
{
    unsigned mine[6] = {a[0], a[1], a[2], a[3], b0, b1};
    Warp& w = warp_gather(mine, 6);
    auto& A = w.a;
    auto& B = w.b;
    if (!w.decoded)
    {
        for (int lane = 0; lane < 32; lane++)
        {
            int g = lane / 4, i = lane % 4;
            const unsigned* words = w.words[lane];
            for (int e = 0; e < 8; e++)
            {
                int row = g + (e % 4 >= 2 ? 8 : 0), col = 2 * i + e % 2 + (e >= 4 ? 8 : 0);
                A[row][col] = half_at(words, e);
            }
            for (int e = 0; e < 4; e++) B[2 * i + e % 2 + (e >= 2 ? 8 : 0)][g] = half_at(words + 4, e);
        }
        w.decoded = true;
    }
    int g = current->lane / 4, i = current->lane % 4;
    for (int v = 0; v < 4; v++)
    {
        int row = g + (v >= 2 ? 8 : 0), col = 2 * i + v % 2;
        float sum = c[v];
        for (int k = 0; k < 16; k++) sum += A[row][k] * B[k][col];
        c[v] = sum;
    }
    yield(State::AtWarp);
}
}
