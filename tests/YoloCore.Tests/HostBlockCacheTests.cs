using YoloCore.Cpu;

namespace YoloCore.Tests;

public unsafe class HostBlockCacheTests
{
    [Fact]
    public void AFreedLargeBlockIsHandedOutAgainForItsSizeClass()
    {
        // A size no other test uses, so parallel tests cannot take the block in between.
        long bytes = (7L << 20) + 12_345;
        long size = HostBlockCache.SizeClass(bytes);
        Assert.Equal(0, size % (64 << 10));
        Assert.InRange(size - bytes, 0, (64 << 10) - 1);

        // Fill the cache to its capacity with blocks of another size first (a cache full of a
        // previous shape's blocks): the new block must still be kept.
        long stale = 9L << 20;
        var blocks = Enumerable.Range(0, 40).Select(_ => (nint)HostBlockCache.Allocate(stale)).ToList();
        foreach (var b in blocks) HostBlockCache.Free((void*)b, stale);

        void* first = HostBlockCache.Allocate(bytes);
        new Span<byte>(first, (int)bytes).Fill(1); // the whole requested range is usable
        HostBlockCache.Free(first, bytes);
        void* again = HostBlockCache.Allocate(bytes + 100); // same size class
        Assert.True(first == again, "the cached block was not reused");
        HostBlockCache.Free(again, bytes + 100);
        Assert.Equal(0, (long)again % 64); // still 64-byte aligned
    }

    [Fact]
    public void SmallBlocksAreLeftToTheCAllocator()
    {
        Assert.Equal(1000, HostBlockCache.SizeClass(1000));
        Assert.Equal((256 << 10) - 4, HostBlockCache.SizeClass((256 << 10) - 4));
    }
}
