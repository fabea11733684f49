// emulator.h: what the emulator's parts share (not seen by the kernels): the kernel table the
// generated files fill, and running a grid.
#pragma once
#include "cuda_on_cpu.h"
#include <string>

namespace emu
{
// One thread's run of a kernel with its arguments bound (copied at launch, as the driver does).
using Body = std::function<void()>;
using Binder = std::function<Body(void* const* args)>;

void register_kernel(const char* name, Binder bind);
// The kernel of that extern "C" name, or null.
const Binder* find_kernel(const char* name);

// Runs every block of the grid (several OS threads taking blocks in turn), each block's threads as fibers. False, with the reason,
// when the threads cannot all go on (a barrier some of them never reach).
bool run_grid(const std::string& name, uint3 grid, uint3 block, const Body& body, std::string& error);

// Runs op (a memory copy, a kernel, a GEMM: it returns a CUresult) now, or, while the stream is
// being captured, records it into the graph.
int submit(void* stream, std::function<int()> op);

// YOLOCORE_EMULATOR_DRY=1: nothing is computed. Kernels, GEMMs, copies and fills are checked and
// queued as usual but do nothing, and new memory is not filled, so that a full-size step shows
// what the engine asks of the device (its launches, its allocator's peak) in seconds.
bool dry();

template <typename... A, std::size_t... I>
Body bind_arguments(void (*f)(A...), void* const* args, std::index_sequence<I...>)
{
    auto values = std::make_tuple(*static_cast<std::decay_t<A>*>(args[I])...);
    return [f, values]() { std::apply(f, values); };
}

struct Registrar
{
    template <typename... A>
    Registrar(const char* name, void (*f)(A...))
    {
        register_kernel(name, [f](void* const* args) { return bind_arguments(f, args, std::index_sequence_for<A...>{}); });
    }
};
}

#define EMU_KERNEL(name) static emu::Registrar registered_##name(#name, &name);
