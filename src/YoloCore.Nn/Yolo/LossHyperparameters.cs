namespace YoloCore.Nn.Yolo;

/// The hyperparameters YOLOv5's ComputeLoss reads, with the gains already scaled the way the
/// trainer scales them (box·3/nl, cls·nc/80·3/nl, obj·(imgsz/640)²·3/nl): see ForTraining.
/// Gr is YOLOv5's model.gr: the objectness target of an assigned cell is (1 - gr) + gr·IoU.
public sealed record LossHyperparameters(
    double Box = 0.05, double Cls = 0.5, double Obj = 1.0, double ClsPw = 1.0, double ObjPw = 1.0,
    double AnchorT = 4.0, double FlGamma = 0.0, double LabelSmoothing = 0.0, IouKind Iou = IouKind.CIoU, double Gr = 1.0)
{
    /// hyp.scratch-low's loss gains scaled for nl detection levels, nc classes and image size.
    public LossHyperparameters ForTraining(int nl, int nc, int imageSize) => this with
    {
        Box = Box * 3.0 / nl,
        Cls = Cls * nc / 80.0 * 3.0 / nl,
        Obj = Obj * Math.Pow(imageSize / 640.0, 2) * 3.0 / nl,
    };

    /// From YOLOv5's hyperparameter names (box, cls, obj, cls_pw, obj_pw, anchor_t, fl_gamma,
    /// label_smoothing); missing names keep their defaults.
    public static LossHyperparameters FromYoloV5(IReadOnlyDictionary<string, double> hyp)
    {
        var d = new LossHyperparameters();
        double Get(string name, double fallback) => hyp.TryGetValue(name, out var v) ? v : fallback;
        return d with
        {
            Box = Get("box", d.Box), Cls = Get("cls", d.Cls), Obj = Get("obj", d.Obj), ClsPw = Get("cls_pw", d.ClsPw),
            ObjPw = Get("obj_pw", d.ObjPw), AnchorT = Get("anchor_t", d.AnchorT), FlGamma = Get("fl_gamma", d.FlGamma),
            LabelSmoothing = Get("label_smoothing", d.LabelSmoothing),
        };
    }
}
