// TurboJPEG bindings (turbojpeg.h, libjpeg-turbo 2.x; libturbojpeg.so.0, turbojpeg.dll): JPEG
// decompression into caller-owned buffers. Optional: YoloCore.Data decodes through it when it
// loads (libjpeg-turbo with its SIMD code, as OpenCV runs it) and through SkiaSharp otherwise.
using System.Runtime.InteropServices;

namespace YoloCore.Native;

/// <summary>TJPF: pixel formats (values from turbojpeg.h).</summary>
public enum TJPF { TJPF_RGB = 0, TJPF_BGR = 1, TJPF_RGBX = 2, TJPF_GRAY = 6, TJPF_CMYK = 11 }

/// <summary>TJCS: the JPEG colour space a header declares.</summary>
public enum TJCS { TJCS_RGB = 0, TJCS_YCbCr = 1, TJCS_GRAY = 2, TJCS_CMYK = 3, TJCS_YCCK = 4 }

/// <summary>tjhandle.</summary>
public readonly record struct TjHandle(nint Handle) { public bool IsNull => Handle == 0; }

/// <summary>TurboJPEG: raw declarations and checked wrappers.</summary>
public static partial class TurboJpeg
{
    public static partial class Api
    {
        [LibraryImport(NativeLibraries.TurboJpegName)]
        public static partial TjHandle tjInitDecompress();

        [LibraryImport(NativeLibraries.TurboJpegName)]
        public static unsafe partial int tjDecompressHeader3(TjHandle handle, byte* jpegBuf, CULong jpegSize, out int width, out int height,
            out int jpegSubsamp, out int jpegColorspace);

        [LibraryImport(NativeLibraries.TurboJpegName)]
        public static unsafe partial int tjDecompress2(TjHandle handle, byte* jpegBuf, CULong jpegSize, byte* dstBuf, int width, int pitch,
            int height, int pixelFormat, int flags);

        [LibraryImport(NativeLibraries.TurboJpegName)]
        public static partial int tjDestroy(TjHandle handle);

        [LibraryImport(NativeLibraries.TurboJpegName)]
        public static partial nint tjGetErrorStr2(TjHandle handle);

        [LibraryImport(NativeLibraries.TurboJpegName)]
        public static partial int tjGetErrorCode(TjHandle handle);
    }

    /// <summary>True when libturbojpeg can be loaded.</summary>
    public static bool IsAvailable => NativeLibraries.IsAvailable(NativeLib.TurboJpeg);

    /// <summary>One decompressor per thread (a handle must not be shared between threads).</summary>
    [ThreadStatic] static TjHandle decompressor;

    static TjHandle Decompressor()
    {
        if (decompressor.IsNull)
        {
            decompressor = Api.tjInitDecompress();
            if (decompressor.IsNull) throw new TurboJpegException("tjInitDecompress", "could not create a decompressor", false);
        }
        return decompressor;
    }

    /// <summary>Width, height and colour space from the header.</summary>
    public static unsafe (int Width, int Height, TJCS ColorSpace) ReadHeader(ReadOnlySpan<byte> jpeg)
    {
        var h = Decompressor();
        fixed (byte* p = jpeg)
        {
            Check(h, Api.tjDecompressHeader3(h, p, new CULong((nuint)jpeg.Length), out int w, out int height, out _, out int cs), "tjDecompressHeader3");
            return (w, height, (TJCS)cs);
        }
    }

    /// <summary>Decodes into dst (width × height × bytes per pixel of format, rows packed), with
    /// libjpeg's defaults (integer IDCT, fancy upsampling). Throws TurboJpegException; IsWarning
    /// says the pixels were written nonetheless.</summary>
    public static unsafe void Decompress(ReadOnlySpan<byte> jpeg, Span<byte> dst, int width, int height, TJPF format)
    {
        var h = Decompressor();
        fixed (byte* p = jpeg)
        fixed (byte* d = dst)
            Check(h, Api.tjDecompress2(h, p, new CULong((nuint)jpeg.Length), d, width, 0, height, (int)format, 0), "tjDecompress2");
    }

    static void Check(TjHandle h, int status, string call)
    {
        if (status == 0) return;
        string text = Marshal.PtrToStringUTF8(Api.tjGetErrorStr2(h)) ?? "unknown error";
        throw new TurboJpegException(call, text, Api.tjGetErrorCode(h) == 0);
    }
}
