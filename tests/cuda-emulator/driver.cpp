// driver.cpp: the CUDA driver API calls the engine makes (native/YoloCore.Native/CudaDriver.cs),
// on the CPU. Device memory is host memory with guard bytes on both sides, checked after every
// kernel; every stream runs its work when it is queued (so every wait is already satisfied),
// except a stream being captured, whose work is recorded into the graph and run at cuGraphLaunch.
// Modules are the kernels built into this library; the image NVRTC made is not read.
#include "emulator.h"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#define API extern "C" __attribute__((visibility("default")))

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

constexpr CUresult SUCCESS = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, INVALID_DEVICE = 101, NOT_FOUND = 500,
    ILLEGAL_ADDRESS = 700, LAUNCH_FAILED = 719;

namespace
{
using Op = std::function<CUresult()>;

struct Graph { std::vector<Op> ops; };
struct Stream { Graph* capture = nullptr; };
struct Event { double ms = 0; };

std::recursive_mutex gate; // one launch, copy or GEMM at a time, in queue order
Stream legacy;
int context_token, module_token;

constexpr std::size_t Guard = 64;
constexpr unsigned char GuardByte = 0xA5;
// The device's memory: 16 GiB, or YOLOCORE_EMULATOR_GIB (a dry run touches none of it, so it may
// be a real card's size, 141 for an H200).
const std::size_t TotalBytes = [] {
    const char* v = std::getenv("YOLOCORE_EMULATOR_GIB");
    long gib = v ? std::atol(v) : 0;
    return (std::size_t)(gib > 0 ? gib : 16) << 30;
}();
std::map<CUdeviceptr, std::size_t> allocations; // address → size asked for
std::size_t allocated;
// YOLOCORE_EMULATOR_TRACE=1: every kernel's name, grid and time on stderr.
const bool trace = std::getenv("YOLOCORE_EMULATOR_TRACE") != nullptr;

double now_ms() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

Stream& of(void* s) { return s ? *(Stream*)s : legacy; }

}

// Runs op now, or records it when the stream is being captured; in a dry run records or drops it.
int emu::submit(void* stream, std::function<int()> op)
{
    std::lock_guard lock(gate);
    Stream& s = of(stream);
    if (emu::dry()) op = [] { return SUCCESS; };
    if (s.capture) { s.capture->ops.push_back(std::move(op)); return SUCCESS; }
    return op();
}

bool emu::dry()
{
    static const bool on = [] { const char* v = std::getenv("YOLOCORE_EMULATOR_DRY"); return v && *v && *v != '0'; }();
    return on;
}

namespace
{

// A guard byte that changed: the allocation and which side, or empty.
std::string damaged_guard()
{
    for (auto& [address, size] : allocations)
    {
        auto* p = (unsigned char*)address;
        for (std::size_t i = 0; i < Guard; i++)
            if (p[-(long)Guard + (long)i] != GuardByte || p[size + i] != GuardByte)
                return "a " + std::to_string(size) + "-byte allocation's guard " + (p[size + i] != GuardByte ? "after its end" : "before its start");
    }
    return "";
}

CUresult fail(CUresult code, const std::string& why)
{
    std::fprintf(stderr, "cuda emulator: %s\n", why.c_str());
    return code;
}

}

API CUresult cuInit(unsigned) { return SUCCESS; }
API CUresult cuDriverGetVersion(int* v) { *v = 12080; return SUCCESS; }

// Each status the emulator returns: its name and what it means here.
struct Status { CUresult code; const char* name; const char* description; };
const Status statuses[] = {
    {SUCCESS, "CUDA_SUCCESS", "no error"},
    {INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS", "a kernel wrote outside an allocation (the emulator's guard bytes changed)"},
    {LAUNCH_FAILED, "CUDA_ERROR_LAUNCH_FAILED", "a kernel could not run to its end in the emulator"},
};

static const Status* status_of(CUresult e)
{
    for (auto& st : statuses)
        if (st.code == e) return &st;
    return nullptr;
}

API CUresult cuGetErrorName(CUresult e, const char** s)
{
    const Status* st = status_of(e);
    if (!st) return INVALID_VALUE;
    *s = st->name;
    return SUCCESS;
}

API CUresult cuGetErrorString(CUresult e, const char** s)
{
    const Status* st = status_of(e);
    if (!st) return INVALID_VALUE;
    *s = st->description;
    return SUCCESS;
}

// One device, reported as compute capability 8.0 (the oldest the engine's kernels target).
API CUresult cuDeviceGetCount(int* n) { *n = 1; return SUCCESS; }
API CUresult cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return INVALID_DEVICE; *d = 0; return SUCCESS; }
API CUresult cuDeviceGetName(char* name, int len, int) { std::snprintf(name, len, "YoloCore CPU emulator"); return SUCCESS; }
API CUresult cuDeviceTotalMem_v2(std::size_t* bytes, int) { *bytes = TotalBytes; return SUCCESS; }

API CUresult cuDeviceGetAttribute(int* v, int attribute, int)
{
    switch (attribute)
    {
        case 1: case 2: *v = 1024; break;          // threads per block, block x
        case 5: *v = 2147483647; break;            // grid x
        case 8: *v = 48 << 10; break;              // shared memory per block
        case 10: *v = 32; break;                   // warp
        case 12: case 82: *v = 65536; break;       // registers
        case 13: case 36: *v = 1000000; break;     // clocks (kHz)
        case 16: *v = 4; break;                    // multiprocessors
        case 37: *v = 256; break;                  // bus width
        case 38: *v = 4 << 20; break;              // L2
        case 39: *v = 2048; break;                 // threads per multiprocessor
        case 75: *v = 8; break;                    // compute capability
        case 76: *v = 0; break;
        case 81: *v = 164 << 10; break;
        case 97: *v = 163 << 10; break;
        case 106: *v = 32; break;
        case 41: case 31: *v = 1; break;
        default: *v = 0; break;
    }
    return SUCCESS;
}

API CUresult cuCtxCreate_v2(void** ctx, unsigned, int) { *ctx = &context_token; return SUCCESS; }
API CUresult cuCtxDestroy_v2(void*) { return SUCCESS; }
API CUresult cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = &context_token; return SUCCESS; }
API CUresult cuDevicePrimaryCtxRelease_v2(int) { return SUCCESS; }
API CUresult cuCtxSetCurrent(void*) { return SUCCESS; }
API CUresult cuCtxGetCurrent(void** ctx) { *ctx = &context_token; return SUCCESS; }
API CUresult cuCtxGetDevice(int* d) { *d = 0; return SUCCESS; }
API CUresult cuCtxSynchronize() { return SUCCESS; }

API CUresult cuMemGetInfo_v2(std::size_t* free, std::size_t* total)
{
    std::lock_guard lock(gate);
    *total = TotalBytes;
    *free = TotalBytes - allocated;
    return SUCCESS;
}

API CUresult cuMemAlloc_v2(CUdeviceptr* p, std::size_t bytes)
{
    std::lock_guard lock(gate);
    if (bytes == 0) return INVALID_VALUE;
    if (allocated + bytes > TotalBytes) return OUT_OF_MEMORY;
    auto* base = (unsigned char*)std::aligned_alloc(256, (Guard + bytes + Guard + 255) / 256 * 256);
    if (!base) return OUT_OF_MEMORY;
    std::memset(base, GuardByte, Guard);
    std::memset(base + Guard + bytes, GuardByte, Guard);
    if (!emu::dry()) std::memset(base + Guard, 0x7F, bytes); // not zeros: memory a kernel should have written but did not shows
    *p = (CUdeviceptr)(base + Guard);
    allocations[*p] = bytes;
    allocated += bytes;
    return SUCCESS;
}

API CUresult cuMemFree_v2(CUdeviceptr p)
{
    std::lock_guard lock(gate);
    auto it = allocations.find(p);
    if (it == allocations.end()) return fail(INVALID_VALUE, "cuMemFree of an address cuMemAlloc did not return");
    std::string damage = damaged_guard();
    allocated -= it->second;
    allocations.erase(it);
    std::free((unsigned char*)p - Guard);
    return damage.empty() ? SUCCESS : fail(ILLEGAL_ADDRESS, damage);
}

API CUresult cuMemHostAlloc(void** p, std::size_t bytes, unsigned) { *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256); return *p ? SUCCESS : OUT_OF_MEMORY; }
API CUresult cuMemFreeHost(void* p) { std::free(p); return SUCCESS; }

static CUresult copy(void* to, const void* from, std::size_t n)
{
    if (!emu::dry()) std::memcpy(to, from, n);
    return SUCCESS;
}
API CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void* h, std::size_t n) { std::lock_guard lock(gate); return copy((void*)d, h, n); }
API CUresult cuMemcpyDtoH_v2(void* h, CUdeviceptr d, std::size_t n) { std::lock_guard lock(gate); return copy(h, (void*)d, n); }
API CUresult cuMemcpyDtoD_v2(CUdeviceptr d, CUdeviceptr s, std::size_t n) { std::lock_guard lock(gate); return copy((void*)d, (void*)s, n); }
API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void* h, std::size_t n, void* s) { return emu::submit(s, [=] { return copy((void*)d, h, n); }); }
API CUresult cuMemcpyDtoHAsync_v2(void* h, CUdeviceptr d, std::size_t n, void* s) { return emu::submit(s, [=] { return copy(h, (void*)d, n); }); }
API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr src, std::size_t n, void* s) { return emu::submit(s, [=] { return copy((void*)d, (void*)src, n); }); }

template <typename T>
static CUresult fill(CUdeviceptr d, T v, std::size_t n)
{
    if (emu::dry()) return SUCCESS;
    for (std::size_t i = 0; i < n; i++) ((T*)d)[i] = v;
    return SUCCESS;
}
API CUresult cuMemsetD8_v2(CUdeviceptr d, unsigned char v, std::size_t n) { std::lock_guard lock(gate); return fill(d, v, n); }
API CUresult cuMemsetD32_v2(CUdeviceptr d, unsigned v, std::size_t n) { std::lock_guard lock(gate); return fill(d, v, n); }
API CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, std::size_t n, void* s) { return emu::submit(s, [=] { return fill(d, v, n); }); }
API CUresult cuMemsetD16Async(CUdeviceptr d, unsigned short v, std::size_t n, void* s) { return emu::submit(s, [=] { return fill(d, v, n); }); }
API CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, std::size_t n, void* s) { return emu::submit(s, [=] { return fill(d, v, n); }); }

API CUresult cuModuleLoadData(void** module, const void*) { *module = &module_token; return SUCCESS; }
API CUresult cuModuleLoadDataEx(void** module, const void* image, unsigned, void*, void**) { return cuModuleLoadData(module, image); }
API CUresult cuModuleUnload(void*) { return SUCCESS; }

struct Function { std::string name; const emu::Binder* bind; };

API CUresult cuModuleGetFunction(void** f, void*, const char* name)
{
    const emu::Binder* bind = emu::find_kernel(name);
    if (!bind) return fail(NOT_FOUND, std::string("no kernel named ") + name + " is built into the emulator (rebuild it: tests/cuda-emulator/build.sh)");
    *f = new Function{name, bind};
    return SUCCESS;
}

API CUresult cuFuncSetAttribute(void*, int, int) { return SUCCESS; }
API CUresult cuFuncGetAttribute(int* v, int attribute, void*) { *v = attribute == 0 ? 1024 : attribute == 4 ? 64 : 0; return SUCCESS; }

API CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
    unsigned shared, void* stream, void** params, void** extra)
{
    auto* fn = (Function*)f;
    if (!fn || extra) return INVALID_VALUE;
    if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0 || (std::size_t)bx * by * bz > 1024 || shared > 0)
        return fail(INVALID_VALUE, fn->name + ": grid " + std::to_string(gx) + "x" + std::to_string(gy) + "x" + std::to_string(gz) +
            ", block " + std::to_string(bx) + "x" + std::to_string(by) + "x" + std::to_string(bz) + ", dynamic shared " + std::to_string(shared));
    emu::Body body = (*fn->bind)(params);
    std::string name = fn->name;
    return emu::submit(stream, [=] {
        std::string error;
        double start = now_ms();
        if (!emu::run_grid(name, {gx, gy, gz}, {bx, by, bz}, body, error)) return fail(LAUNCH_FAILED, error);
        if (trace)
            std::fprintf(stderr, "cuda emulator: %s grid %ux%ux%u block %ux%ux%u %.2f ms\n", name.c_str(), gx, gy, gz, bx, by, bz, now_ms() - start);
        std::string damage = damaged_guard();
        return damage.empty() ? SUCCESS : fail(ILLEGAL_ADDRESS, name + " wrote over " + damage);
    });
}

API CUresult cuStreamCreate(void** s, unsigned) { *s = new Stream; return SUCCESS; }
API CUresult cuStreamDestroy_v2(void* s) { delete (Stream*)s; return SUCCESS; }
API CUresult cuStreamSynchronize(void*) { return SUCCESS; }
API CUresult cuStreamQuery(void*) { return SUCCESS; }
API CUresult cuStreamWaitEvent(void*, void*, unsigned) { return SUCCESS; }

API CUresult cuEventCreate(void** e, unsigned) { *e = new Event; return SUCCESS; }
API CUresult cuEventDestroy_v2(void* e) { delete (Event*)e; return SUCCESS; }
API CUresult cuEventRecord(void* e, void* s) { return emu::submit(s, [=] { ((Event*)e)->ms = now_ms(); return SUCCESS; }); }
API CUresult cuEventSynchronize(void*) { return SUCCESS; }
API CUresult cuEventQuery(void*) { return SUCCESS; }
API CUresult cuEventElapsedTime(float* ms, void* a, void* b) { *ms = (float)(((Event*)b)->ms - ((Event*)a)->ms); return SUCCESS; }
API CUresult cuEventElapsedTime_v2(float* ms, void* a, void* b) { return cuEventElapsedTime(ms, a, b); }

API CUresult cuStreamBeginCapture_v2(void* s, int)
{
    std::lock_guard lock(gate);
    Stream& st = of(s);
    if (st.capture) return INVALID_VALUE;
    st.capture = new Graph;
    return SUCCESS;
}

API CUresult cuStreamEndCapture(void* s, void** graph)
{
    std::lock_guard lock(gate);
    Stream& st = of(s);
    if (!st.capture) return INVALID_VALUE;
    *graph = st.capture;
    st.capture = nullptr;
    return SUCCESS;
}

API CUresult cuGraphInstantiateWithFlags(void** exec, void* graph, unsigned long long) { *exec = new Graph(*(Graph*)graph); return SUCCESS; }
API CUresult cuGraphDestroy(void* g) { delete (Graph*)g; return SUCCESS; }
API CUresult cuGraphExecDestroy(void* g) { delete (Graph*)g; return SUCCESS; }

API CUresult cuGraphLaunch(void* exec, void* s)
{
    auto* g = (Graph*)exec;
    return emu::submit(s, [g] {
        for (auto& op : g->ops)
            if (CUresult r = op(); r != SUCCESS) return r;
        return SUCCESS;
    });
}
