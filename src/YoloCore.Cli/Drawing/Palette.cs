namespace YoloCore.Cli.Drawing;

/// YOLOv5's 20 class colours (utils/plots.py Colors), cycled by class index.
public static class Palette
{
    static readonly string[] hex = ["FF3838", "FF9D97", "FF701F", "FFB21D", "CFD231", "48F90A", "92CC17", "3DDB86", "1A9334", "00D4BB",
        "2C99A8", "00C2FF", "344593", "6473FF", "0018EC", "8438FF", "520085", "CB38FF", "FF95C8", "FF37C7"];

    public static (byte R, byte G, byte B) Of(int classIndex)
    {
        var h = hex[classIndex % hex.Length];
        return (Convert.ToByte(h[..2], 16), Convert.ToByte(h[2..4], 16), Convert.ToByte(h[4..], 16));
    }

    public static string Name(IReadOnlyList<string> names, int c) => c < names.Count ? names[c] : c.ToString();
}
