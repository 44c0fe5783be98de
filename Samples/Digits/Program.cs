// Digits: trains a small CNN with BatchNorm2d and InstanceNorm2d on the handwritten digits (or on
// IDX files such as Fashion-MNIST with --data DIR). See DigitsApp for the options.
return Digits.DigitsApp.Run(args);
