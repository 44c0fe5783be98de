using System.Text.Json;
using Framework.Optim;
using NUnit.Framework;

namespace Framework.Tests.Optim;

/// <summary>
/// SGD, Adam and AdamW replayed against PyTorch 1.13 (Golden/optim.json, made by make_optim_golden.py):
/// the given gradients are fed for five steps and every parameter is compared after every step; the
/// final momentum buffers / moments and step counts are compared through the state dict.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.All))]
public class OptimGoldenTests : BackendTestBase
{
    public OptimGoldenTests(Device device) : base(device) { }

    internal static readonly Lazy<JsonElement> s_root = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "optim.json"))).RootElement);

    public static IEnumerable<string> Names() => s_root.Value.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToList();

    private static JsonElement Case(string name) => s_root.Value.GetProperty("cases").EnumerateArray().First(c => c.GetProperty("name").GetString() == name);

    internal static double[] Arr(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    internal static Dictionary<string, double> Options(JsonElement e) => e.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());

    internal static Optimizer Make(string kind, Dictionary<string, double> o, IEnumerable<Tensor> ps)
    {
        double Get(string k, double d) => o.TryGetValue(k, out var v) ? v : d;
        return kind switch
        {
            "SGD" => new SGD(ps, o["lr"], Get("momentum", 0), Get("dampening", 0), Get("weight_decay", 0), Get("nesterov", 0) != 0),
            "Adam" => new Adam(ps, Get("lr", 1e-3), Get("beta1", 0.9), Get("beta2", 0.999), Get("eps", 1e-8), Get("weight_decay", 0), Get("amsgrad", 0) != 0),
            "AdamW" => new AdamW(ps, Get("lr", 1e-3), Get("beta1", 0.9), Get("beta2", 0.999), Get("eps", 1e-8), Get("weight_decay", 1e-2), Get("amsgrad", 0) != 0),
            _ => throw new ArgumentException(kind),
        };
    }

    /// <summary>Builds the case's parameters and optimizer (groups included).</summary>
    internal (List<Tensor> Params, Optimizer Opt) Build(JsonElement c, DType dtype)
    {
        var ps = c.GetProperty("params").EnumerateArray()
            .Select(p => T(Arr(p.GetProperty("init")), p.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray(), dtype, requiresGrad: true))
            .ToList();
        var groups = c.GetProperty("groups").EnumerateArray().ToArray();
        var opt = Make(c.GetProperty("optimizer").GetString()!, Options(c.GetProperty("options")),
            groups[0].GetProperty("params").EnumerateArray().Select(i => ps[i.GetInt32()]));
        foreach (var g in groups.Skip(1))
            opt.AddParamGroup(g.GetProperty("params").EnumerateArray().Select(i => ps[i.GetInt32()]), Options(g.GetProperty("options")));
        return (ps, opt);
    }

    [TestCaseSource(nameof(Names))]
    public void Float64MatchesPyTorch(string name) => Replay(name, DType.Float64, 1e-11, 1e-13);

    // float32: each step rounds to 24 bits (and PyTorch fuses some multiply-adds), so a few ulps per step.
    [TestCaseSource(nameof(Names))]
    public void Float32MatchesPyTorch(string name) => Replay(name, DType.Float32, 2e-5, 2e-6);

    private void Replay(string name, DType dtype, double rtol, double atol)
    {
        var c = Case(name);
        var (ps, opt) = Build(c, dtype);
        using var _ = opt;
        int step = 0;
        foreach (var s in c.GetProperty("steps").EnumerateArray())
        {
            var grads = s.GetProperty("grads").EnumerateArray().ToArray();
            for (int i = 0; i < ps.Count; i++) ps[i].Grad = T(Arr(grads[i]), ps[i].Shape, dtype);
            opt.Step();
            var expected = s.GetProperty("params").EnumerateArray().ToArray();
            for (int i = 0; i < ps.Count; i++) AssertClose(D(ps[i]), Arr(expected[i]), rtol, atol, $"{name} step {step} param {i}");
            step++;
        }
        var state = opt.StateDict();
        var golden = c.GetProperty("state").EnumerateObject().ToList();
        Assert.That(state.Keys.Where(k => k.StartsWith("state.")).Order(), Is.EqualTo(golden.Select(p => p.Name).Order()), "state keys");
        foreach (var p in golden)
        {
            if (p.Name.EndsWith(".step")) Assert.That(state[p.Name].Item(), Is.EqualTo(p.Value.GetDouble()), p.Name);
            else AssertClose(D(state[p.Name]), Arr(p.Value), rtol, atol, p.Name);
        }
    }

    public static IEnumerable<string> ScheduleNames() => s_root.Value.GetProperty("schedules").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToList();

    [TestCaseSource(nameof(ScheduleNames))]
    public void ScheduleMatchesPyTorch(string name)
    {
        var c = s_root.Value.GetProperty("schedules").EnumerateArray().First(x => x.GetProperty("name").GetString() == name);
        var p = T([0.0], [1], DType.Float32, requiresGrad: true);
        using var opt = new SGD([p], lr: 0.1);
        LRScheduler sched = c.GetProperty("kind").GetString() == "StepLR"
            ? new StepLR(opt, c.GetProperty("step_size").GetInt32(), c.GetProperty("gamma").GetDouble())
            : new CosineAnnealingLR(opt, c.GetProperty("t_max").GetInt32(), c.GetProperty("eta_min").GetDouble());
        var lrs = new List<double> { sched.GetLastLr()[0] };
        for (int e = 1; e < c.GetProperty("lrs").GetArrayLength(); e++)
        {
            opt.Step();
            sched.Step();
            lrs.Add(sched.GetLastLr()[0]);
            Assert.That(opt.ParamGroups[0].Lr, Is.EqualTo(lrs[^1]), "the group's lr is the schedule's");
        }
        AssertClose(lrs.ToArray(), Arr(c.GetProperty("lrs")), 1e-13, 1e-16, name);
    }
}
