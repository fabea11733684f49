using System.Globalization;
using System.Text;

namespace YoloCore.Nn.Yolo;

/// The table YOLOv5 prints when it builds a model (parse_model's "from n params module arguments"
/// rows) and its summary line with parameters and GFLOPs at 640 px.
public sealed partial class YoloModel
{
    static readonly Dictionary<string, string> yoloV5Names = new()
    {
        ["Conv"] = "models.common.Conv", ["C3"] = "models.common.C3", ["Bottleneck"] = "models.common.Bottleneck",
        ["SPPF"] = "models.common.SPPF", ["nn.Upsample"] = "torch.nn.modules.upsampling.Upsample",
        ["Concat"] = "models.common.Concat", ["Detect"] = "models.yolo.Detect",
    };

    /// GFLOPs for one image of size × size as YOLOv5 reports them: thop's multiply-add count ×2,
    /// where a convolution costs its weights (plus one for a bias) per output pixel and a
    /// BatchNorm one per output value; activations, pooling and upsampling count nothing. This
    /// reproduces YOLOv5's table (4.5, 16.5, 49.0, 109.1, 205.7 for n/s/m/l/x).
    public double GFlops(int size = 640)
    {
        double flops = 0;
        foreach (var layer in layers)
            foreach (var (name, m) in layer.Module.NamedModules())
            {
                if (m is not Conv2d conv) continue;
                // Detect's 1×1 convolutions m.0, m.1, m.2 run at their own level's stride.
                double stride = layer.Module is Detect d && name.StartsWith("m.", StringComparison.Ordinal)
                    ? d.Strides[int.Parse(name[2..].Split('.')[0], CultureInfo.InvariantCulture)] : layer.Stride;
                double pixels = Math.Ceiling(size / stride) * Math.Ceiling(size / stride);
                int cout = conv.Weight.Shape[0];
                double macsPerPixel = conv.Weight.Count + cout; // + its bias, or the BatchNorm after it
                flops += 2.0 * macsPerPixel * pixels;
            }
        return flops / 1e9;
    }

    public string Summary()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{"",3}{"from",18}{"n",3}{"params",10}  {"module",-40}{"arguments"}");
        foreach (var l in layers)
        {
            long parameters = l.Module.Parameters().Sum(p => p.Count);
            string from = l.From.Length == 1 ? l.From[0].ToString(CultureInfo.InvariantCulture) : $"[{string.Join(", ", l.From)}]";
            sb.AppendLine($"{l.Index,3}{from,18}{l.Repeats,3}{parameters,10}  {yoloV5Names.GetValueOrDefault(l.Type, l.Type),-40}{l.Arguments}");
        }
        long total = ParameterCount();
        sb.Append(CultureInfo.InvariantCulture, $"{Config.Name} summary: {NamedModules().Count()} modules, {total} parameters, {total} gradients, {GFlops():F1} GFLOPs");
        return sb.ToString();
    }
}
