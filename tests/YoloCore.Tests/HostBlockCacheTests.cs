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
