using System.Text.Json;
using YoloCore.Diagnostics;
using YoloCore.Nn.IO;
using YoloCore.Nn.Yolo;

namespace YoloCore.Cli.Commands;

/// `doctor --check --golden DIR`: the whole YOLOv5 model on a device against PyTorch's golden
/// numbers (head outputs, loss, every gradient), so a GPU machine without the .NET SDK can verify
/// the model end to end, not only op by op.
internal static class GoldenCheck
{
    public static bool Run(string directory, Device device)
    {
        bool ok = true;
        foreach (var json in Directory.GetFiles(directory, "*.json").Where(f => File.Exists(Path.ChangeExtension(f, ".safetensors"))).OrderBy(f => f))
        {
            if (Path.GetFileName(json).StartsWith("map_")) continue;
            var meta = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
            var (list, _) = Safetensors.Load(Path.ChangeExtension(json, ".safetensors"));
            var golden = list.ToDictionary(e => e.Name, e => e.Tensor);
            try
            {
                using var scope = TensorScope.Begin();
                using var model = new YoloModel(ModelConfig.Load(meta.GetProperty("cfg").GetString()!).WithClasses(meta.GetProperty("nc").GetInt32()));
                StateDictIO.Load(model, golden, prefix: "init.");
                model.To(device);
                var images = golden["input.images"].Permute(0, 2, 3, 1).To(device);
                var hyp = LossHyperparameters.FromYoloV5(meta.GetProperty("hyp_used_by_loss").EnumerateObject()
                    .Where(p => p.Value.ValueKind == JsonValueKind.Number).ToDictionary(p => p.Name, p => p.Value.GetDouble()));
                var heads = model.ForwardHeads(images);
                var loss = new YoloLoss(model.Detect, hyp).Compute(heads, golden["input.targets"].ToDoubles());
                loss.Total.Backward();
                double headErr = Enumerable.Range(0, heads.Length).Max(i => BackendParity.RelativeError(heads[i].ToDoubles(), golden[$"train.p{i}"].ToDoubles()));
                double lossErr = Math.Abs(loss.Total.Item() - meta.GetProperty("loss").GetDouble()) / meta.GetProperty("loss").GetDouble();
                double gradErr = 0;
                string worst = "";
                foreach (var (name, p) in model.NamedParameters())
                {
                    var g = golden["grad." + name];
                    var expected = StateDictIO.FromPyTorch(g).ToDoubles();
                    double e = BackendParity.RelativeError(p.Grad!.ToDoubles(), expected);
                    if (e > gradErr) { gradErr = e; worst = name; }
                }
                bool pass = headErr <= 1e-4 && lossErr <= 1e-5 && gradErr <= 1e-3;
                ok &= pass;
                Console.WriteLine($"golden {Path.GetFileNameWithoutExtension(json)} on {device}: heads {headErr:E2}, loss {lossErr:E2}, " +
                    $"worst gradient {gradErr:E2} ({worst})  {(pass ? "pass" : "FAIL")}");
                model.ZeroGrad();
            }
            catch (Exception e)
            {
                Console.WriteLine($"golden {Path.GetFileNameWithoutExtension(json)} on {device}: FAIL {e.GetType().Name}: {e.Message}");
                ok = false;
            }
            finally { foreach (var t in golden.Values) t.Dispose(); }
        }
        return ok;
    }
}
