using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace YoloCore.Cli;

/// A mistake in the command line: reported in one line with exit code 2, no stack trace.
public sealed class CliUsageException(string message) : Exception(message);

/// Options as YOLOv5's scripts name them (with their aliases: --img, --imgsz, --img-size), parsed
/// by System.CommandLine: `--flag value` and `--flag=value`, help generated from the
/// descriptions, and messages that name the flag ("--epochs needs an integer, got 'abc'").
public static class Opt
{
    static string Flag(string name) => "--" + name;
    static string[] Aliases(string[] aliases) => aliases.Select(a => a.StartsWith('-') ? a : "--" + a).ToArray();

    /// Arity zero-or-one, so that a missing value reaches the parser and gets our message.
    static Option<T> Make<T>(string name, string description, string[] aliases, Func<string, (bool Ok, T Value)> parse, string kind, Func<T>? fallback)
    {
        var o = new Option<T>(Flag(name), Aliases(aliases)) { Description = description, Arity = ArgumentArity.ZeroOrOne };
        if (fallback is not null) o.DefaultValueFactory = _ => fallback();
        o.CustomParser = r =>
        {
            if (r.Tokens.Count == 0) { r.AddError($"{Flag(name)} needs {kind} value"); return default!; }
            var (ok, v) = parse(r.Tokens[0].Value);
            if (!ok) r.AddError($"{Flag(name)} needs {kind} value, got '{r.Tokens[0].Value}'");
            return v;
        };
        return o;
    }

    public static Option<int> Int(string name, string description, int fallback, params string[] aliases) =>
        Make(name, description, aliases, s => (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v), v), "an integer", () => fallback);

    /// An integer whose default depends on other options (null when not given).
    public static Option<int?> IntOrNull(string name, string description, params string[] aliases) =>
        Make<int?>(name, description, aliases, s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? (true, v) : (false, null), "an integer", null);

    public static Option<double> Double(string name, string description, double fallback, params string[] aliases) =>
        Make(name, description, aliases, s => (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v), v), "a number", () => fallback);

    public static Option<string> Text(string name, string description, string fallback, params string[] aliases) =>
        Make(name, description, aliases, s => (true, s), "a", () => fallback);

    /// A text option that is absent (null) unless given.
    public static Option<string?> TextOrNull(string name, string description, params string[] aliases) =>
        Make<string?>(name, description, aliases, s => (true, s), "a", null);

    public static Option<bool> Flag(string name, string description, params string[] aliases) =>
        new(Flag(name), Aliases(aliases)) { Description = description, Arity = ArgumentArity.Zero };

    /// An option that may stand alone or take a value (`--resume` or `--resume path`, `--cache` or `--cache ram`).
    public static Option<string?> MaybeValue(string name, string description, params string[] aliases) =>
        new(Flag(name), Aliases(aliases)) { Description = description, Arity = ArgumentArity.ZeroOrOne };

    /// Non-negative integers as "0,2" or "0 2" (quoted) or repeated (--classes 0 2).
    public static Option<int[]> IntList(string name, string description, params string[] aliases)
    {
        var o = new Option<int[]>(Flag(name), Aliases(aliases)) { Description = description, Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true };
        o.DefaultValueFactory = _ => [];
        o.CustomParser = r =>
        {
            var values = new List<int>();
            foreach (var t in r.Tokens.SelectMany(t => t.Value.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries)))
                if (int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0) values.Add(v);
                else r.AddError($"{Flag(name)} takes non-negative integers like 0,2; got '{t}'");
            return values.ToArray();
        };
        return o;
    }

    /// Whether the option appeared on the command line (for options that may stand alone).
    public static bool Given(this ParseResult r, Option option) => r.GetResult(option) is { Implicit: false };

    /// A parse error in one line, with the closest option names when a flag is unknown.
    public static string Describe(ParseError error, Command command)
    {
        string message = error.Message;
        var unknown = System.Text.RegularExpressions.Regex.Match(message, "'(-[^']+)'");
        if (!message.StartsWith("Unrecognized", StringComparison.Ordinal) || !unknown.Success) return message;
        string token = unknown.Groups[1].Value.Split('=')[0];
        if (!token.StartsWith('-')) return $"unexpected argument '{token}'";
        var names = command.Options.SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--")).Distinct().ToList();
        var close = names.Select(n => (Name: n, Distance: Distance(n, token))).Where(c => c.Distance <= Math.Max(2, token.Length / 4) || c.Name.StartsWith(token))
            .OrderBy(c => c.Distance).Take(3).Select(c => c.Name).ToList();
        return close.Count > 0 ? $"unknown option {token} (did you mean {string.Join(" or ", close)}?)" : $"unknown option {token}";
    }

    /// Levenshtein distance.
    static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
