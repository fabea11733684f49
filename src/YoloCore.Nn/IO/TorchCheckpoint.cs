using System.IO.Compression;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace YoloCore.Nn.IO;

/// A tensor as a PyTorch pickle describes it: a view (offset, shape, strides in elements) of a
/// storage kept in the zip as NAME/data/KEY.
public sealed record TorchTensor(TorchStorage Storage, long Offset, int[] Shape, long[] Stride);

/// One storage of the zip: its element type (PyTorch's name, e.g. "HalfStorage") and element count.
public sealed record TorchStorage(string Key, string TypeName, long Count);

/// A PyTorch `.pt` file as torch.save writes it since PyTorch 1.6: a zip of NAME/data.pkl (the
/// pickled object) and NAME/data/KEY (each storage's raw little-endian bytes), read without
/// Python and without executing anything (PickleReader). YOLOv5 checkpoints are dictionaries with
/// 'model' and 'ema' DetectionModel objects (float16), maybe 'optimizer', 'opt', 'epoch', 'git'...;
/// modules are walked through their _modules, _parameters and _buffers to state-dict names.
public sealed class TorchCheckpoint : IDisposable
{
    readonly ZipArchive zip;
    readonly string prefix;
    public string Path { get; }
    /// The unpickled object (see PickleReader for the .NET shapes of Python values).
    public object? Root { get; }

    TorchCheckpoint(string path, ZipArchive zip, string prefix, object? root)
    {
        Path = path;
        this.zip = zip;
        this.prefix = prefix;
        Root = root;
    }

    public static TorchCheckpoint Open(string path)
    {
        ZipArchive zip;
        try { zip = ZipFile.OpenRead(path); }
        catch (InvalidDataException)
        {
            using var f = File.OpenRead(path);
            bool legacy = f.Length > 2 && f.ReadByte() == 0x80;
            throw new InvalidDataException(legacy
                ? $"{path} is a legacy (pre-1.6) PyTorch file, not a zip: re-save it with a current PyTorch (torch.save(torch.load(f), f))"
                : $"{path} is not a PyTorch checkpoint: not a zip archive (cut short, or another format)");
        }
        try
        {
            var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
                ?? throw new InvalidDataException($"{path} is a zip without a data.pkl: not a PyTorch checkpoint");
            string prefix = pkl.FullName[..^"data.pkl".Length];
            var bytes = ReadAll(pkl, path);
            var reader = new PickleReader(path, Build, pid => Persistent(pid, path));
            var root = reader.Load(bytes);
            return new TorchCheckpoint(path, zip, prefix, root);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    static byte[] ReadAll(ZipArchiveEntry e, string path)
    {
        try
        {
            using var s = e.Open();
            var buffer = new byte[e.Length];
            s.ReadExactly(buffer);
            return buffer;
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new InvalidDataException($"{path}: {e.FullName} cannot be read ({ex.Message}): the file is damaged or cut short");
        }
    }

    /// PyTorch's persistent id for a storage: ('storage', torch.XStorage, key, location, numel).
    static object Persistent(object? pid, string path)
    {
        if (pid is object?[] { Length: >= 5 } t && t[0] is "storage" && t[1] is PickleGlobal type && t[2] is string key && t[4] is long n)
            return new TorchStorage(key, type.Name, n);
        throw new InvalidDataException($"{path}: a persistent id the reader does not know ({pid})");
    }

    /// The allow list: what may be built from a global. Everything else stays an inert record.
    static bool Build(PickleGlobal g, object?[] a, out object? result)
    {
        result = (g.Module, g.Name) switch
        {
            ("collections", "OrderedDict") => Ordered(a),
            ("torch._utils", "_rebuild_tensor_v2" or "_rebuild_tensor") when a.Length >= 4 && a[0] is TorchStorage s =>
                new TorchTensor(s, AsLong(a[1]), Tuple(a[2]).Select(v => (int)AsLong(v)).ToArray(), Tuple(a[3]).Select(AsLong).ToArray()),
            ("torch._utils", "_rebuild_parameter" or "_rebuild_parameter_with_state") when a.Length >= 1 => a[0],
            ("torch", "Size") when a.Length == 1 => Tuple(a[0]),
            ("_codecs", "encode") when a.Length >= 1 && a[0] is string text => System.Text.Encoding.Latin1.GetBytes(text),
            ("builtins" or "__builtin__", "set" or "frozenset") => new HashSet<object?>(a.Length > 0 ? Tuple(a[0]) : []),
            _ => NotBuilt,
        };
        return !ReferenceEquals(result, NotBuilt);
    }

    static readonly object NotBuilt = new();

    static Dictionary<object, object?> Ordered(object?[] a)
    {
        var d = new Dictionary<object, object?>();
        if (a.Length > 0)
            foreach (var pair in Tuple(a[0]))
                if (pair is object?[] { Length: 2 } kv) d[kv[0] ?? PickleReader.NoneKey] = kv[1];
        return d;
    }

    static object?[] Tuple(object? v) => v switch { object?[] t => t, List<object?> l => l.ToArray(), _ => [] };

    static long AsLong(object? v) => v switch { long l => l, bool b => b ? 1 : 0, BigInteger b => (long)b, _ => 0 };

    /// ckpt[key] of a YOLOv5 checkpoint dictionary (or null).
    public object? Entry(string key) => Root is Dictionary<object, object?> d && d.TryGetValue(key, out var v) ? v : null;

    /// The model a YOLOv5 checkpoint holds: 'ema' first (upstream's attempt_load, for val and
    /// detect) or 'model' first (train.py's transfer); or the file's object when it is a module or
    /// a plain state dict.
    public object Model(bool emaFirst)
    {
        var keys = emaFirst ? new[] { "ema", "model" } : ["model", "ema"];
        foreach (var k in keys)
            if (Entry(k) is PickleObject m) return m;
        if (Root is PickleObject module) return module;
        if (Root is Dictionary<object, object?> d && d.Values.Any(v => v is TorchTensor)) return d;
        if (Root is Dictionary<object, object?> ckpt && ckpt.ContainsKey("model"))
            throw new InvalidDataException($"{Path}: its 'model' and 'ema' entries are empty (None): there are no weights in it");
        throw new InvalidDataException($"{Path} holds neither a YOLOv5 checkpoint ('model'/'ema') nor a module nor a state dict");
    }

    /// The state dict of a module object (or a plain state dict): names as PyTorch's state_dict().
    public static List<(string Name, TorchTensor Tensor)> StateDict(object model)
    {
        var entries = new List<(string, TorchTensor)>();
        if (model is Dictionary<object, object?> plain)
        {
            foreach (var (k, v) in plain) if (k is string name && v is TorchTensor t) entries.Add((name, t));
            return entries;
        }
        Walk((PickleObject)model, "", entries);
        return entries;
    }

    static void Walk(PickleObject module, string prefix, List<(string, TorchTensor)> entries)
    {
        foreach (var table in new[] { "_parameters", "_buffers" })
            if (module[table] is Dictionary<object, object?> d)
                foreach (var (k, v) in d)
                    if (k is string name && v is TorchTensor t) entries.Add((prefix + name, t));
        if (module["_modules"] is Dictionary<object, object?> children)
            foreach (var (k, v) in children)
                if (k is string name && v is PickleObject child) Walk(child, prefix + name + ".", entries);
    }

    /// A tensor's values in its shape (contiguous), converted to one of our dtypes: float16,
    /// float32 and float64 kept, bfloat16 to float32, integers to int32, bool to uint8.
    public Tensor Load(TorchTensor t)
    {
        var (size, dtype) = ElementOf(t.Storage.TypeName);
        var entry = zip.GetEntry(prefix + "data/" + t.Storage.Key)
            ?? throw new InvalidDataException($"{Path}: storage {t.Storage.Key} is missing from the archive");
        var raw = ReadAll(entry, Path);
        if (raw.Length < t.Storage.Count * size)
            throw new InvalidDataException($"{Path}: storage {t.Storage.Key} has {raw.Length} bytes, {t.Storage.Count * size} needed for {t.Storage.Count} {t.Storage.TypeName} values");
        long count = t.Shape.Aggregate(1L, (x, y) => x * y);
        // The highest element the view reaches must lie inside the storage.
        long last = t.Offset + t.Shape.Select((n, i) => n == 0 ? 0 : (n - 1) * t.Stride[i]).Sum();
        if (count > 0 && (t.Offset < 0 || last >= t.Storage.Count))
            throw new InvalidDataException($"{Path}: a tensor of shape [{string.Join(", ", t.Shape)}] reaches element {last} of storage {t.Storage.Key}, which has {t.Storage.Count}");
        var values = new byte[count * size];
        var index = new int[t.Shape.Length];
        for (long i = 0; i < count; i++)
        {
            long src = t.Offset;
            for (int d = 0; d < index.Length; d++) src += index[d] * t.Stride[d];
            Buffer.BlockCopy(raw, (int)(src * size), values, (int)(i * size), size);
            for (int d = index.Length - 1; d >= 0 && ++index[d] == t.Shape[d]; d--) index[d] = 0;
        }
        return Convert(values, t.Storage.TypeName, dtype, new Shape(t.Shape), t.Storage.Key);
    }

    static (int Size, DType DType) ElementOf(string storage) => storage switch
    {
        "FloatStorage" => (4, DType.Float32),
        "HalfStorage" => (2, DType.Float16),
        "DoubleStorage" => (8, DType.Float64),
        "BFloat16Storage" => (2, DType.Float32),
        "LongStorage" => (8, DType.Int32),
        "IntStorage" => (4, DType.Int32),
        "ShortStorage" => (2, DType.Int32),
        "CharStorage" => (1, DType.Int32),
        "ByteStorage" => (1, DType.UInt8),
        "BoolStorage" => (1, DType.UInt8),
        _ => throw new InvalidDataException($"storage type {storage} is not supported"),
    };

    Tensor Convert(byte[] v, string storage, DType dtype, Shape shape, string key)
    {
        var t = TensorScope.Escape(Tensor.Empty(shape, dtype));
        switch (storage)
        {
            case "FloatStorage" or "HalfStorage" or "DoubleStorage" or "IntStorage" or "ByteStorage" or "BoolStorage":
                t.CopyFrom(v);
                break;
            case "BFloat16Storage":
                t.CopyFrom(Enumerable.Range(0, v.Length / 2).SelectMany(i => BitConverter.GetBytes(BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(v, 2 * i) << 16))).ToArray());
                break;
            default: // integers of other widths
                int size = v.Length / Math.Max(1, (int)shape.Count);
                var ints = new int[shape.Count];
                for (int i = 0; i < ints.Length; i++)
                {
                    long x = size switch { 8 => BitConverter.ToInt64(v, 8 * i), 2 => BitConverter.ToInt16(v, 2 * i), _ => (sbyte)v[i] };
                    if (x is < int.MinValue or > int.MaxValue)
                    {
                        t.Dispose();
                        throw new InvalidDataException($"{Path}: storage {key} holds {x}, beyond int32");
                    }
                    ints[i] = (int)x;
                }
                t.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ints.AsSpan()).ToArray());
                break;
        }
        return t;
    }

    /// A module attribute (yaml, names, nc, stride...) as JSON, with Python's None as null and
    /// tensors left out: enough for the model config and class names.
    public static JsonNode? ToJson(object? v) => v switch
    {
        null => null,
        bool b => JsonValue.Create(b),
        long l => JsonValue.Create(l),
        BigInteger b => JsonValue.Create((double)b),
        double d => double.IsFinite(d) ? JsonValue.Create(d) : JsonValue.Create(d.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        string s => JsonValue.Create(s),
        object?[] t => new JsonArray(t.Select(ToJson).ToArray()),
        List<object?> l => new JsonArray(l.Select(ToJson).ToArray()),
        Dictionary<object, object?> d => new JsonObject(d.Where(kv => kv.Key is string or long).Select(kv => KeyValuePair.Create(kv.Key.ToString()!, ToJson(kv.Value)))),
        _ => null,
    };

    public void Dispose() => zip.Dispose();
}
