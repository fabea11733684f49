namespace YoloCore.Cli;

/// A mistake in the command line: reported in one line with exit code 2, no stack trace.
public sealed class CliUsageException(string message) : Exception(message);

/// Minimal `--name value` / `--flag` parser: every option a command reads must be declared, so a
/// misspelt flag is an error rather than silently ignored.
public sealed class CliArgs
{
    readonly Dictionary<string, string?> values = new();
    readonly HashSet<string> read = [];

    public CliArgs(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--")) throw new CliUsageException($"unexpected argument '{a}'");
            string name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            else if (i + 1 < args.Length && !args[i + 1].StartsWith("--")) value = args[++i];
            values[name] = value;
        }
    }

    public bool Help => Flag("help");

    public bool Flag(string name)
    {
        read.Add(name);
        return values.ContainsKey(name);
    }

    /// An option that may stand alone or take a value (`--resume` or `--resume path`).
    public (bool Present, string? Value) Optional(string name)
    {
        read.Add(name);
        return values.TryGetValue(name, out var v) ? (true, v) : (false, null);
    }

    public int Int(string name, int fallback) => Parse(name, fallback, int.TryParse);
    public double Double(string name, double fallback) =>
        Parse(name, fallback, (string s, out double v) => double.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out v));

    public string String(string name, string fallback)
    {
        read.Add(name);
        return values.TryGetValue(name, out var v) ? v ?? throw new CliUsageException($"--{name} needs a value") : fallback;
    }

    /// A list of non-negative integers, "0,2" or "0 2" (quoted); empty when the option is absent.
    public int[] IntList(string name) =>
        String(name, "").Split([',', ' '], StringSplitOptions.RemoveEmptyEntries).Select(t => int.TryParse(t, out int v) && v >= 0 ? v
            : throw new CliUsageException($"--{name} takes non-negative integers like 0,2; got '{t}'")).ToArray();

    delegate bool TryParse<T>(string s, out T value);

    T Parse<T>(string name, T fallback, TryParse<T> parse)
    {
        read.Add(name);
        if (!values.TryGetValue(name, out var v)) return fallback;
        string kind = typeof(T) == typeof(int) ? "an integer" : "a number";
        if (v is null) throw new CliUsageException($"--{name} needs {kind} value");
        if (!parse(v, out var r)) throw new CliUsageException($"--{name} needs {kind} value, got '{v}'");
        return r;
    }

    /// Call after reading every option: unknown ones are errors.
    public void RejectUnknown()
    {
        var unknown = values.Keys.Where(k => !read.Contains(k)).ToList();
        if (unknown.Count > 0) throw new CliUsageException($"unknown option{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(u => "--" + u))}");
    }
}
