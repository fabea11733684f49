using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace YoloCore.Nn.IO;

/// The safetensors format, read and written by our own code: an 8-byte little-endian header length,
/// a JSON header mapping each name to {dtype, shape, data_offsets} (plus optional "__metadata__"
/// string pairs), then the raw little-endian data. Tensors here are in the file's layout; the
/// OIHW ↔ OHWI conversion for PyTorch weights is the caller's (see StateDictIO).
public static class Safetensors
{
    static readonly Dictionary<string, DType> fromCode = new()
    {
        ["F32"] = DType.Float32, ["F64"] = DType.Float64, ["F16"] = DType.Float16, ["I32"] = DType.Int32, ["U8"] = DType.UInt8,
    };

    /// Codes PyTorch writes that we read into one of our dtypes: (bytes per element, our dtype).
    /// bfloat16 widens to float32; other integers narrow to int32 (a value beyond it is an error);
    /// bool becomes uint8. num_batches_tracked (int64) is read this way and then ignored.
    static readonly Dictionary<string, (int Size, DType DType)> converted = new()
    {
        ["BF16"] = (2, DType.Float32), ["I64"] = (8, DType.Int32), ["U64"] = (8, DType.Int32), ["U32"] = (4, DType.Int32),
        ["I16"] = (2, DType.Int32), ["U16"] = (2, DType.Int32), ["I8"] = (1, DType.Int32), ["BOOL"] = (1, DType.UInt8),
    };

    static string Code(DType d) => fromCode.First(kv => kv.Value == d).Key;

    /// Reads every tensor (unscoped; the caller disposes them) in the order the header lists them.
    public static (List<(string Name, Tensor Tensor)> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        using var file = File.OpenRead(path);
        var lenBytes = new byte[8];
        if (file.Read(lenBytes, 0, 8) != 8) throw new InvalidDataException($"{path}: too short to be a safetensors file");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLen == 0 || headerLen > 100_000_000 || (long)headerLen > file.Length - 8)
            throw new InvalidDataException($"{path}: header length {headerLen} does not fit a {file.Length}-byte file");
        var headerBytes = new byte[headerLen];
        file.ReadExactly(headerBytes);
        JsonObject header;
        try { header = JsonNode.Parse(headerBytes)?.AsObject() ?? throw new InvalidDataException("empty header"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: header is not valid JSON ({e.Message})"); }
        long dataStart = 8 + (long)headerLen, dataLen = file.Length - dataStart;

        var metadata = new Dictionary<string, string>();
        var tensors = new List<(string, Tensor)>();
        try
        {
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__")
                {
                    foreach (var (k, v) in node!.AsObject()) metadata[k] = v!.GetValue<string>();
                    continue;
                }
                var entry = node!.AsObject();
                string code = entry["dtype"]!.GetValue<string>();
                int size;
                if (fromCode.TryGetValue(code, out var dtype)) size = dtype.SizeOf();
                else if (converted.TryGetValue(code, out var c)) (size, dtype) = c;
                else throw new InvalidDataException($"{path}: tensor '{name}' has unsupported dtype {code}");
                var shape = new Shape(entry["shape"]!.AsArray().Select(d => d!.GetValue<int>()).ToArray());
                var offsets = entry["data_offsets"]!.AsArray().Select(o => o!.GetValue<long>()).ToArray();
                long bytes = offsets[1] - offsets[0];
                if (offsets[0] < 0 || offsets[1] > dataLen || bytes != shape.Count * size)
                    throw new InvalidDataException($"{path}: tensor '{name}' {shape} {code} has offsets [{offsets[0]}, {offsets[1]}) outside the data or of the wrong size");
                var data = new byte[bytes];
                file.Position = dataStart + offsets[0];
                file.ReadExactly(data);
                if (!fromCode.ContainsKey(code)) data = Widen(data, code, path, name);
                var t = TensorScope.Escape(Tensor.Empty(shape, dtype));
                t.CopyFrom(data);
                tensors.Add((name, t));
            }
        }
        catch
        {
            foreach (var (_, t) in tensors) t.Dispose();
            throw;
        }
        return (tensors, metadata);
    }

    /// The bytes of a converted code in its target dtype (see `converted`).
    static byte[] Widen(byte[] data, string code, string path, string name)
    {
        if (code == "BOOL") return data.Select(b => b != 0 ? (byte)1 : (byte)0).ToArray();
        if (code == "BF16")
        {
            var f = new float[data.Length / 2];
            for (int i = 0; i < f.Length; i++) f[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(2 * i)) << 16);
            return System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan()).ToArray();
        }
        int size = converted[code].Size;
        var ints = new int[data.Length / size];
        for (int i = 0; i < ints.Length; i++)
        {
            var b = data.AsSpan(size * i, size);
            long v = code switch
            {
                "I64" => BinaryPrimitives.ReadInt64LittleEndian(b),
                "U64" => (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(b), long.MaxValue),
                "U32" => BinaryPrimitives.ReadUInt32LittleEndian(b),
                "I16" => BinaryPrimitives.ReadInt16LittleEndian(b),
                "U16" => BinaryPrimitives.ReadUInt16LittleEndian(b),
                _ => (sbyte)b[0],
            };
            if (v is < int.MinValue or > int.MaxValue) throw new InvalidDataException($"{path}: tensor '{name}' holds {v}, beyond int32");
            ints[i] = (int)v;
        }
        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(ints.AsSpan()).ToArray();
    }

    /// Writes a file to PATH.tmp and moves it into place, so a crash never leaves half a file.
    public static void Save(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        string tmp = path + ".tmp";
        using (var file = File.Create(tmp)) Write(file, tensors, metadata);
        File.Move(tmp, path, overwrite: true);
    }

    /// Writes tensors in the given order (header padded with spaces to 8 bytes, as the format suggests).
    public static void Write(Stream file, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var m = new JsonObject();
            foreach (var (k, v) in metadata) m[k] = v;
            header["__metadata__"] = m;
        }
        long offset = 0;
        foreach (var (name, t) in list)
        {
            if (header.ContainsKey(name)) throw new ArgumentException($"duplicate tensor name '{name}'");
            header[name] = new JsonObject
            {
                ["dtype"] = Code(t.DType),
                ["shape"] = new JsonArray(t.Shape.ToArray().Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + t.Bytes),
            };
            offset += t.Bytes;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - json.Length % 8) % 8;
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(json.Length + pad));
        file.Write(len);
        file.Write(json);
        for (int i = 0; i < pad; i++) file.WriteByte((byte)' ');
        foreach (var (_, t) in list)
        {
            var data = new byte[t.Bytes];
            t.CopyTo(data);
            file.Write(data);
        }
    }

    /// The "__metadata__" pairs of a file's header alone (empty when there are none or the file is
    /// not a safetensors file): what a checkpoint check reads to name the epoch a file holds.
    public static Dictionary<string, string> ReadMetadata(string path)
    {
        var metadata = new Dictionary<string, string>();
        try
        {
            using var file = File.OpenRead(path);
            var lenBytes = new byte[8];
            if (file.Read(lenBytes, 0, 8) != 8) return metadata;
            ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
            if (headerLen == 0 || (long)headerLen > file.Length - 8 || headerLen > 100_000_000) return metadata;
            var headerBytes = new byte[headerLen];
            file.ReadExactly(headerBytes);
            if (JsonNode.Parse(headerBytes)?["__metadata__"] is JsonObject m)
                foreach (var (k, v) in m) if (v is JsonValue value && value.TryGetValue<string>(out var text)) metadata[k] = text;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { }
        return metadata;
    }
}
