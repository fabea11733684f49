using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace YoloCore.Nn.IO;

/// A global a pickle names (module.name). Calling one builds an inert PickleObject unless the
/// reader's allow list says how to build it.
public sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// An instance of a global the reader does not build (a torch.nn module, a numpy scalar, an
/// argparse namespace...): what the pickle said to call it with and the state it set, nothing run.
public sealed class PickleObject(PickleGlobal type, object?[] args)
{
    public PickleGlobal Type { get; } = type;
    public object?[] Args { get; } = args;
    /// What BUILD gave it: for modules, their __dict__ (a dictionary).
    public object? State { get; set; }

    /// An attribute from the state dictionary, or null.
    public object? this[string attribute] => State is Dictionary<object, object?> d && d.TryGetValue(attribute, out var v) ? v : null;

    public override string ToString() => $"<{Type}>";
}

/// Python's pickle format (protocols 0–5) read into plain .NET values, executing nothing:
/// None → null, bool, int → long (or BigInteger), float → double, str → string, bytes → byte[],
/// tuple → object?[], list → List&lt;object?&gt;, dict → Dictionary&lt;object, object?&gt; (insertion
/// order kept), set → HashSet. A global is built only when `build` knows it (the caller's allow
/// list); every other global becomes an inert PickleObject, and the ones that could only be asked
/// for to run code (os.system, builtins.eval, subprocess...) are refused with their name.
/// Persistent ids (PyTorch's storages) go to `persistentLoad`.
public sealed class PickleReader
{
    public delegate bool Builder(PickleGlobal global, object?[] args, out object? result);

    readonly Builder build;
    readonly Func<object?, object?> persistentLoad;
    readonly string source;

    public PickleReader(string source, Builder build, Func<object?, object?> persistentLoad)
    {
        this.source = source;
        this.build = build;
        this.persistentLoad = persistentLoad;
    }

    /// Modules whose globals a checkpoint never needs and that exist to run code.
    static readonly HashSet<string> refusedModules = ["os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "importlib", "runpy",
        "pickle", "_pickle", "marshal", "code", "ctypes", "pty", "webbrowser", "multiprocessing", "threading", "signal", "io", "tempfile", "pathlib._local"];
    static readonly HashSet<string> refusedBuiltins = ["eval", "exec", "compile", "open", "__import__", "getattr", "setattr", "delattr",
        "globals", "locals", "vars", "input", "breakpoint", "exit", "quit", "help", "memoryview"];

    static readonly object mark = new();

    public object? Load(ReadOnlySpan<byte> data)
    {
        var stack = new List<object?>();
        var marks = new Stack<int>();
        var memo = new Dictionary<long, object?>();
        int p = 0;
        Exception Bad(string what) => new InvalidDataException($"{source}: {what} at byte {p} of the pickle");
        object? Pop()
        {
            if (stack.Count == 0) throw Bad("the pickle pops an empty stack");
            var v = stack[^1];
            stack.RemoveAt(stack.Count - 1);
            return v;
        }
        List<object?> PopMark()
        {
            if (marks.Count == 0) throw Bad("the pickle closes a MARK it never opened");
            int at = marks.Pop();
            var items = stack.GetRange(at, stack.Count - at);
            stack.RemoveRange(at, stack.Count - at);
            return items;
        }
        ReadOnlySpan<byte> Take(long n, ReadOnlySpan<byte> d)
        {
            if (n < 0 || p + n > d.Length) throw Bad("the pickle ends in the middle of a value (the file is cut short)");
            var s = d.Slice(p, (int)n);
            p += (int)n;
            return s;
        }
        string Line(ReadOnlySpan<byte> d) => Encoding.UTF8.GetString(LineBytes(d));
        byte[] LineBytes(ReadOnlySpan<byte> d)
        {
            int end = d[p..].IndexOf((byte)'\n');
            if (end < 0) throw Bad("the pickle ends in the middle of a text line");
            var s = d.Slice(p, end).ToArray();
            p += end + 1;
            return s;
        }

        while (true)
        {
            if (p >= data.Length) throw Bad("the pickle ends before its STOP (the file is cut short)");
            byte op = data[p++];
            switch (op)
            {
                case 0x80: Take(1, data); break;                                   // PROTO
                case 0x95: Take(8, data); break;                                   // FRAME
                case (byte)'.': return stack.Count > 0 ? Pop() : throw Bad("STOP with an empty stack");
                case (byte)'(': marks.Push(stack.Count); break;                    // MARK
                case (byte)'N': stack.Add(null); break;
                case 0x88: stack.Add(true); break;
                case 0x89: stack.Add(false); break;
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4, data))); break;
                case (byte)'K': stack.Add((long)Take(1, data)[0]); break;
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2, data))); break;
                case 0x8a: stack.Add(Long(Take(Take(1, data)[0], data))); break;    // LONG1
                case 0x8b: stack.Add(Long(Take(BinaryPrimitives.ReadInt32LittleEndian(Take(4, data)), data))); break; // LONG4
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8, data))); break;
                case (byte)'I': stack.Add(IntLine(Line(data))); break;
                case (byte)'L': stack.Add(IntLine(Line(data).TrimEnd('L'))); break;
                case (byte)'F': stack.Add(double.Parse(Line(data), System.Globalization.CultureInfo.InvariantCulture)); break;
                case 0x8c: stack.Add(Encoding.UTF8.GetString(Take(Take(1, data)[0], data))); break;   // SHORT_BINUNICODE
                case (byte)'X': stack.Add(Encoding.UTF8.GetString(Take(BinaryPrimitives.ReadUInt32LittleEndian(Take(4, data)), data))); break;
                case 0x8d: stack.Add(Encoding.UTF8.GetString(Take((long)BinaryPrimitives.ReadUInt64LittleEndian(Take(8, data)), data))); break;
                case (byte)'U': stack.Add(Encoding.Latin1.GetString(Take(Take(1, data)[0], data))); break; // SHORT_BINSTRING
                case (byte)'T': stack.Add(Encoding.Latin1.GetString(Take(BinaryPrimitives.ReadInt32LittleEndian(Take(4, data)), data))); break;
                case (byte)'S': stack.Add(Line(data).Trim().Trim('\'', '"')); break;
                case (byte)'V': stack.Add(RawUnicodeEscape(LineBytes(data))); break;
                case (byte)'C': stack.Add(Take(Take(1, data)[0], data).ToArray()); break;              // SHORT_BINBYTES
                case (byte)'B': stack.Add(Take(BinaryPrimitives.ReadUInt32LittleEndian(Take(4, data)), data).ToArray()); break;
                case 0x8e or 0x96: stack.Add(Take((long)BinaryPrimitives.ReadUInt64LittleEndian(Take(8, data)), data).ToArray()); break; // BINBYTES8, BYTEARRAY8
                case 0x97 or 0x98: throw Bad("the pickle uses out-of-band buffers (protocol 5 NEXT_BUFFER), which a checkpoint file cannot carry");
                case (byte)'}': stack.Add(new Dictionary<object, object?>()); break;
                case (byte)']': stack.Add(new List<object?>()); break;
                case (byte)')': stack.Add(Array.Empty<object?>()); break;
                case 0x8f: stack.Add(new HashSet<object?>()); break;                // EMPTY_SET
                case (byte)'t': stack.Add(PopMark().ToArray()); break;
                case 0x85: stack.Add(new[] { Pop() }); break;
                case 0x86: { var b = Pop(); var a = Pop(); stack.Add(new[] { a, b }); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(new[] { a, b, c }); break; }
                case (byte)'l': stack.Add(PopMark()); break;
                case (byte)'d': stack.Add(DictOf(PopMark())); break;
                case 0x91: stack.Add(new HashSet<object?>(PopMark())); break;       // FROZENSET
                case (byte)'a': { var v = Pop(); AsList(stack.Count > 0 ? stack[^1] : null).Add(v); break; }
                case (byte)'e': { var items = PopMark(); AsList(stack.Count > 0 ? stack[^1] : null).AddRange(items); break; }
                case 0x90: { var items = PopMark(); if (stack[^1] is HashSet<object?> set) foreach (var i in items) set.Add(i); else throw Bad("ADDITEMS on a non-set"); break; }
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItem(stack.Count > 0 ? stack[^1] : null, k, v); break; }
                case (byte)'u': { var items = PopMark(); for (int i = 0; i + 1 < items.Count; i += 2) SetItem(stack[^1], items[i], items[i + 1]); break; }
                case (byte)'0': Pop(); break;
                case (byte)'1': PopMark(); break;
                case (byte)'2': stack.Add(stack.Count > 0 ? stack[^1] : throw Bad("DUP of an empty stack")); break;
                case (byte)'q': memo[Take(1, data)[0]] = stack[^1]; break;          // BINPUT
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4, data))] = stack[^1]; break;
                case 0x94: memo[memo.Count] = stack[^1]; break;                     // MEMOIZE
                case (byte)'p': memo[long.Parse(Line(data))] = stack[^1]; break;
                case (byte)'h': stack.Add(Memo(memo, Take(1, data)[0])); break;      // BINGET
                case (byte)'j': stack.Add(Memo(memo, BinaryPrimitives.ReadUInt32LittleEndian(Take(4, data)))); break;
                case (byte)'g': stack.Add(Memo(memo, long.Parse(Line(data)))); break;
                case (byte)'c': { string module = Line(data), name = Line(data); stack.Add(Global(module, name)); break; }
                case 0x93: { var name = Pop() as string; var module = Pop() as string; stack.Add(Global(module ?? throw Bad("STACK_GLOBAL without a module name"), name ?? throw Bad("STACK_GLOBAL without a name"))); break; }
                case (byte)'R': { var args = Pop(); var f = Pop(); stack.Add(Call(f, Tuple(args))); break; }       // REDUCE
                case 0x81: { var args = Pop(); var cls = Pop(); stack.Add(Call(cls, Tuple(args))); break; }     // NEWOBJ
                case 0x92: { Pop(); var args = Pop(); var cls = Pop(); stack.Add(Call(cls, Tuple(args))); break; } // NEWOBJ_EX (kwargs dropped)
                case (byte)'o': { var items = PopMark(); if (items.Count == 0) throw Bad("OBJ without a class"); stack.Add(Call(items[0], items.Skip(1).ToArray())); break; }
                case (byte)'i': { string module = Line(data), name = Line(data); stack.Add(Call(Global(module, name), PopMark().ToArray())); break; }
                case (byte)'b': { var state = Pop(); Build(stack.Count > 0 ? stack[^1] : null, state); break; } // BUILD
                case (byte)'Q': stack.Add(persistentLoad(Pop())); break;            // BINPERSID
                case (byte)'P': stack.Add(persistentLoad(Line(data))); break;
                default: throw Bad($"unknown pickle opcode 0x{op:x2}");
            }
        }

        object?[] Tuple(object? v) => v as object?[] ?? (v is List<object?> l ? l.ToArray() : throw Bad("call arguments are not a tuple"));
        List<object?> AsList(object? v) => v as List<object?> ?? throw Bad("APPEND on something that is not a list");
        void SetItem(object? target, object? k, object? v)
        {
            if (target is not Dictionary<object, object?> d) throw Bad("SETITEM on something that is not a dict");
            d[k ?? NoneKey] = v;
        }
        Dictionary<object, object?> DictOf(List<object?> items)
        {
            var d = new Dictionary<object, object?>();
            for (int i = 0; i + 1 < items.Count; i += 2) d[items[i] ?? NoneKey] = items[i + 1];
            return d;
        }
        object? Memo(Dictionary<long, object?> m, long key) => m.TryGetValue(key, out var v) ? v : throw Bad($"the pickle refers to memo entry {key}, which it never stored");
    }

    /// Python's None as a dictionary key.
    public static readonly object NoneKey = new();

    PickleGlobal Global(string module, string name)
    {
        if (refusedModules.Contains(module) || refusedModules.Contains(module.Split('.')[0])
            || module is "builtins" or "__builtin__" && refusedBuiltins.Contains(name))
            throw new InvalidDataException($"{source} asks for {module}.{name}, which a checkpoint never needs and which would run code: refused (nothing was run)");
        return new PickleGlobal(module, name);
    }

    object? Call(object? callable, object?[] args)
    {
        if (callable is not PickleGlobal g) throw new InvalidDataException($"{source}: the pickle calls {callable ?? "None"}, which is not a global");
        if (build(g, args, out var result)) return result;
        return new PickleObject(g, args);
    }

    void Build(object? target, object? state)
    {
        switch (target)
        {
            case PickleObject o: o.State = state; break;
            case Dictionary<object, object?> d when state is Dictionary<object, object?> s:
                foreach (var (k, v) in s) d[k] = v;
                break;
            default: break; // state of a built value (a tensor's hooks): nothing to keep
        }
    }

    /// Protocol 0's text: Latin-1 bytes with \uXXXX and \UXXXXXXXX escapes.
    static string RawUnicodeEscape(byte[] b)
    {
        var sb = new StringBuilder(b.Length);
        for (int i = 0; i < b.Length; i++)
        {
            if (b[i] == '\\' && i + 1 < b.Length && (b[i + 1] == 'u' || b[i + 1] == 'U'))
            {
                int digits = b[i + 1] == 'u' ? 4 : 8;
                if (i + 2 + digits <= b.Length && int.TryParse(Encoding.ASCII.GetString(b, i + 2, digits), System.Globalization.NumberStyles.HexNumber, null, out int cp))
                {
                    sb.Append(char.ConvertFromUtf32(cp));
                    i += 1 + digits;
                    continue;
                }
            }
            sb.Append((char)b[i]);
        }
        return sb.ToString();
    }

    static object Long(ReadOnlySpan<byte> little)
    {
        if (little.Length == 0) return 0L;
        var v = new BigInteger(little, isUnsigned: false, isBigEndian: false);
        return v >= long.MinValue && v <= long.MaxValue ? (object)(long)v : v;
    }

    static object IntLine(string s) => s switch
    {
        "00" => false,
        "01" => true,
        _ => long.TryParse(s, out long v) ? (object)v : BigInteger.Parse(s),
    };
}
