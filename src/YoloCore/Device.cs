namespace YoloCore;

public enum DeviceKind { Cpu, Cuda }

/// Where a tensor's storage lives: the host ("cpu") or one GPU ("cuda:N").
public readonly record struct Device(DeviceKind Kind, int Index)
{
    public static readonly Device Cpu = new(DeviceKind.Cpu, 0);
    public static Device Cuda(int index = 0) => new(DeviceKind.Cuda, index);

    public bool IsCpu => Kind == DeviceKind.Cpu;

    /// Accepts "cpu", "cuda", "cuda:N" and, as YOLOv5's --device does, a bare GPU index "N".
    public static Device Parse(string text)
    {
        var s = text.Trim().ToLowerInvariant();
        if (s == "cpu") return Cpu;
        if (s == "cuda") return Cuda(0);
        if (s.StartsWith("cuda:") && int.TryParse(s.AsSpan(5), out int i) && i >= 0) return Cuda(i);
        if (int.TryParse(s, out int j) && j >= 0) return Cuda(j);
        throw new FormatException($"unknown device '{text}': use cpu, cuda, cuda:N or N");
    }

    public override string ToString() => IsCpu ? "cpu" : $"cuda:{Index}";
}
