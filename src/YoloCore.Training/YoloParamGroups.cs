using YoloCore.Nn;

namespace YoloCore.Training;

/// YOLOv5's smart_optimizer grouping: biases (no decay) first, then other weights with weight
/// decay, then BatchNorm weights (no decay). The order matters: warmup raises group 0's lr from
/// warmup_bias_lr.
public static class YoloParamGroups
{
    public static ParamGroup[] Create(Module model, double lr, double momentum, double weightDecay, bool nesterov)
    {
        var biases = new List<Tensor>();
        var decayed = new List<Tensor>();
        var bnWeights = new List<Tensor>();
        foreach (var (_, m) in model.NamedModules())
            foreach (var (name, p) in m.OwnParameters())
            {
                if (name == "bias") biases.Add(p);
                else if (name == "weight" && m is BatchNorm2d) bnWeights.Add(p);
                else decayed.Add(p);
            }
        return
        [
            new ParamGroup(biases, lr, momentum, 0, nesterov),
            new ParamGroup(decayed, lr, momentum, weightDecay, nesterov),
            new ParamGroup(bnWeights, lr, momentum, 0, nesterov),
        ];
    }
}
