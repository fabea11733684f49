namespace YoloCore;

/// Element types a tensor can hold. The CPU backend computes in Float32 (and Float64 for
/// gradient checks); Float16 is a storage and GPU compute type; Int32 holds indices, UInt8 images.
public enum DType
{
    Float32,
    Float64,
    Float16,
    Int32,
    UInt8,
}

public static class DTypeInfo
{
    public static int SizeOf(this DType dtype) => dtype switch
    {
        DType.Float32 => 4,
        DType.Float64 => 8,
        DType.Float16 => 2,
        DType.Int32 => 4,
        DType.UInt8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    public static bool IsFloating(this DType dtype) =>
        dtype is DType.Float32 or DType.Float64 or DType.Float16;

    /// The lower-case name used in messages and files ("float32", "int32", ...).
    public static string Name(this DType dtype) => dtype.ToString().ToLowerInvariant();

    /// The DType that stores elements of the CLR type T.
    public static DType Of<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return DType.Float32;
        if (typeof(T) == typeof(double)) return DType.Float64;
        if (typeof(T) == typeof(Half)) return DType.Float16;
        if (typeof(T) == typeof(int)) return DType.Int32;
        if (typeof(T) == typeof(byte)) return DType.UInt8;
        throw new NotSupportedException($"no tensor dtype for {typeof(T).Name}");
    }
}
