"""
==============================================
Penguins with empty cells: a table as it comes
==============================================

The Palmer penguins (344 rows): species, island and sex as text, four
measurements, a year, and 19 empty cells. skvae takes the table as it is:
each column gets the likelihood of its type, the empty cells are left out of
training, and no scaler or one-hot encoder is needed.

Left: the 2-D codes of :class:`skvae.VAETransformer`, coloured by species
(the species column is part of the table the model saw). Right: a quarter of
the measurements removed at random and filled in again by
:class:`skvae.VAEImputer`, beside scikit-learn's ``KNNImputer`` on the
standardised numbers: the error of each, in standard deviations of each
column.

Run it with ``python examples/plot_mixed_tables.py``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from palmerpenguins import load_penguins
from sklearn.impute import KNNImputer

from skvae import VAEImputer, VAETransformer

penguins = load_penguins()
vae = VAETransformer(n_components=2, random_state=0).fit(penguins)
print(dict(zip(penguins.columns, vae.column_types_, strict=True)))
codes = vae.transform(penguins)

# %%
# Remove a quarter of the measurements and fill them in again.
numbers = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
rng = np.random.default_rng(0)
holed = penguins.copy()
removed = rng.random((len(penguins), len(numbers))) < 0.25
removed &= penguins[numbers].notna().to_numpy()
for j, column in enumerate(numbers):
    holed.loc[removed[:, j], column] = np.nan

imputer = VAEImputer(random_state=0).set_output(transform="pandas")
filled = imputer.fit_transform(holed)

mean, sd = holed[numbers].mean(), holed[numbers].std()
knn = KNNImputer().fit_transform((holed[numbers] - mean) / sd) * sd.to_numpy() + mean.to_numpy()


def error(values, j):
    truth = penguins[numbers[j]].to_numpy()[removed[:, j]]
    return np.sqrt(np.mean(((values[removed[:, j]] - truth) / sd.iloc[j]) ** 2))


vae_errors = [error(filled[c].to_numpy(float), j) for j, c in enumerate(numbers)]
knn_errors = [error(knn[:, j], j) for j in range(len(numbers))]

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
for species in penguins["species"].unique():
    rows = (penguins["species"] == species).to_numpy()
    left.scatter(*codes[rows].T, s=12, label=species)
left.set(title="VAETransformer codes of the whole table", xlabel="z1", ylabel="z2")
left.legend()
x = np.arange(len(numbers))
right.bar(x - 0.2, vae_errors, 0.4, label="VAEImputer (the whole table)")
right.bar(x + 0.2, knn_errors, 0.4, label="KNNImputer (the numbers)")
right.set_xticks(x, [c.replace("_", " ") for c in numbers], rotation=15)
right.set(title="filling in 25% of the measurements", ylabel="RMSE (standard deviations)")
right.legend()
fig.tight_layout()
plt.show()
