using System.Globalization;
using System.Text;
using YoloCore.Nn.Yolo;

namespace YoloCore.Training;

/// One image's kept detections, in its original pixels.
public sealed record ImagePredictions(string Path, int Width, int Height, IReadOnlyList<Detection> Detections);

/// val.py's --save-txt and --save-json: labels/NAME.txt with "class xc yc w h [conf]" normalised
/// to the image, and a COCO results file (image_id from the file name, bbox as top-left x, y,
/// width, height in pixels) that pycocotools can score. On COCO itself (a val list ending in
/// val2017.txt) class indices become COCO's 91-category ids, as YOLOv5 does.
public sealed class PredictionWriter(string saveDir, bool saveTxt, bool saveConf, bool cocoIds)
{
    /// COCO's category id for each of the 80 classes YOLOv5 trains (coco80_to_coco91_class).
    static readonly int[] Coco91 =
    [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34,
        35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
        64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90,
    ];

    readonly StringBuilder json = new();
    int entries;

    public void Add(ImagePredictions p)
    {
        string stem = Path.GetFileNameWithoutExtension(p.Path);
        if (saveTxt)
        {
            Directory.CreateDirectory(Path.Combine(saveDir, "labels"));
            File.WriteAllLines(Path.Combine(saveDir, "labels", stem + ".txt"), p.Detections.Select(d =>
            {
                double cx = (d.X1 + d.X2) / 2 / p.Width, cy = (d.Y1 + d.Y2) / 2 / p.Height;
                double w = (d.X2 - d.X1) / p.Width, h = (d.Y2 - d.Y1) / p.Height;
                return string.Create(CultureInfo.InvariantCulture, $"{d.Class} {cx:F6} {cy:F6} {w:F6} {h:F6}") +
                    (saveConf ? string.Create(CultureInfo.InvariantCulture, $" {d.Score:F6}") : "");
            }));
        }
        // YOLOv5: image_id = int(stem) if stem.isnumeric() else stem.
        string imageId = stem.Length > 0 && stem.All(char.IsAsciiDigit) ? long.Parse(stem, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)
            : System.Text.Json.JsonSerializer.Serialize(stem);
        foreach (var d in p.Detections)
        {
            int category = cocoIds && d.Class < Coco91.Length ? Coco91[d.Class] : d.Class;
            json.Append(entries++ == 0 ? "[\n" : ",\n");
            json.Append(CultureInfo.InvariantCulture, $"{{\"image_id\": {imageId}, \"category_id\": {category}, \"bbox\": [")
                .Append(CultureInfo.InvariantCulture, $"{Math.Round(d.X1, 3)}, {Math.Round(d.Y1, 3)}, {Math.Round(d.X2 - d.X1, 3)}, {Math.Round(d.Y2 - d.Y1, 3)}], ")
                .Append(CultureInfo.InvariantCulture, $"\"score\": {Math.Round(d.Score, 5)}}}");
        }
    }

    /// Writes the COCO results file and returns its path.
    public string WriteJson(string fileName)
    {
        string path = Path.Combine(saveDir, fileName);
        File.WriteAllText(path, entries == 0 ? "[]\n" : json + "\n]\n");
        return path;
    }
}
