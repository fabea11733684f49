using SkiaSharp;

namespace YoloCore.Cli.Drawing;

/// The one font every figure uses: Liberation Sans (Arial's metrics, as upstream's Arial.ttf; SIL
/// Open Font License, Fonts/OFL.txt), embedded in this assembly because the NoDependencies Skia
/// build reads no system fonts and CI machines may have none. ScottPlot is pointed at it too.
public static class LabelFont
{
    public const string Family = "Liberation Sans";

    static readonly Lazy<SKTypeface> typeface = new(() =>
    {
        using var s = typeof(LabelFont).Assembly.GetManifestResourceStream("fonts/LiberationSans-Regular.ttf")
            ?? throw new InvalidOperationException("the embedded font fonts/LiberationSans-Regular.ttf is missing from the assembly");
        return SKTypeface.FromStream(s) ?? throw new InvalidOperationException("the embedded font could not be read");
    });

    public static SKTypeface Typeface => typeface.Value;

    public static SKFont Font(float size) => new(Typeface, size) { Edging = SKFontEdging.Antialias, Subpixel = true };

    static int plotsReady;

    /// Makes ScottPlot draw every text with this font (once per process).
    public static void UseForPlots()
    {
        if (Interlocked.Exchange(ref plotsReady, 1) == 1) return;
        ScottPlot.Fonts.FontResolvers.Insert(0, new Resolver());
        ScottPlot.Fonts.Default = Family;
        ScottPlot.Fonts.Sans = Family;
    }

    /// Every name and style resolves to the embedded face (bold and italic are synthesised by Skia).
    sealed class Resolver : ScottPlot.IFontResolver
    {
        public SKTypeface CreateTypeface(string fontName, bool bold, bool italic) => SKTypeface.FromStream(Stream());
        public SKTypeface CreateTypeface(string fontName, ScottPlot.FontWeight weight, ScottPlot.FontSlant slant, ScottPlot.FontSpacing spacing) =>
            SKTypeface.FromStream(Stream());

        static Stream Stream() => typeof(LabelFont).Assembly.GetManifestResourceStream("fonts/LiberationSans-Regular.ttf")!;
    }
}
